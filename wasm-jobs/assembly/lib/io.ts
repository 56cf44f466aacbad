// The job I/O helpers the example jobs share: stdin in chunks, buffered stdout, stderr, each line
// of stdin, and the allocator hook the WASI adapter uses. They are written once, in the scaffold
// `insitu job init` copies into a new job (template/assembly/io.ts), so a new job starts from the
// same code the examples run.
export * from "../../template/assembly/io";
