// Parallel runs. With --parallel, a job's map step runs once per data piece of the object, over
// the whole lines that start in that piece (INSITU_PHASE=map, INSITU_OFFSET = the object offset of
// its first byte), and its reduce step (INSITU_PHASE=reduce) reads the map outputs concatenated in
// object order on stdin. Without --parallel, INSITU_PHASE is unset and the job sees the whole object.
import { writeError } from "./io";

export function phase(): string {
  return process.env.has("INSITU_PHASE") ? process.env.get("INSITU_PHASE") : "";
}

/** True when stdin starts at the object's first byte (always, outside a map step). */
export function atObjectStart(): bool {
  if (phase() != "map") return true;
  return !process.env.has("INSITU_OFFSET") || process.env.get("INSITU_OFFSET") == "0";
}

/** For jobs whose result is not a combination of per-piece results: refuse to run in parallel. */
export function refuseParallel(name: string, why: string): void {
  if (phase() == "") return;
  writeError(name + " does not run in parallel: " + why + "\n");
  process.exit(2);
}
