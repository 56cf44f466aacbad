;; Reed–Solomon multiply-accumulate kernel over GF(2^8), WASM SIMD.
;; For every output o and input i, out[o] ^= c[o][i] * in[i], with the product looked up in two
;; 16-entry nibble tables per coefficient (low nibble, high nibble) through i8x16.swizzle.
;; Work proceeds in chunks small enough that the inputs and outputs of a chunk stay in L1.
(module
  (memory (export "memory") 1)

  ;; tables: (nout*nin) entries of 32 bytes (16 low-nibble products, 16 high-nibble products)
  ;; inputs/outputs: arrays of i32 addresses; bytes [start, len) of every shard are processed,
  ;; both multiples of 64. The host calls it window by window so that V8 tiers the function up
  ;; early (wasm has no on-stack replacement).
  (func (export "mul_rows")
    (param $tables i32) (param $inputs i32) (param $nin i32)
    (param $outputs i32) (param $nout i32) (param $start i32) (param $len i32)
    (local $off i32) (local $clen i32) (local $o i32) (local $i i32)
    (local $outp i32) (local $inp i32) (local $j i32) (local $t i32)
    (local $lo v128) (local $hi v128) (local $mask v128) (local $v v128)
    (local.set $off (local.get $start))
    (local.set $mask (v128.const i8x16 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15 15))
    (block $done
      (loop $chunks
        (br_if $done (i32.ge_u (local.get $off) (local.get $len)))
        (local.set $clen (i32.sub (local.get $len) (local.get $off)))
        (if (i32.gt_u (local.get $clen) (i32.const 4096)) (then (local.set $clen (i32.const 4096))))
        (local.set $o (i32.const 0))
        (block $odone
          (loop $outs
            (br_if $odone (i32.ge_u (local.get $o) (local.get $nout)))
            (local.set $outp (i32.add
              (i32.load (i32.add (local.get $outputs) (i32.shl (local.get $o) (i32.const 2))))
              (local.get $off)))
            (local.set $i (i32.const 0))
            (block $idone
              (loop $ins
                (br_if $idone (i32.ge_u (local.get $i) (local.get $nin)))
                (local.set $inp (i32.add
                  (i32.load (i32.add (local.get $inputs) (i32.shl (local.get $i) (i32.const 2))))
                  (local.get $off)))
                (local.set $t (i32.add (local.get $tables)
                  (i32.shl (i32.add (i32.mul (local.get $o) (local.get $nin)) (local.get $i)) (i32.const 5))))
                (local.set $lo (v128.load (local.get $t)))
                (local.set $hi (v128.load offset=16 (local.get $t)))
                (local.set $j (i32.const 0))
                (if (i32.eqz (local.get $i))
                  (then
                    ;; first input: out = c * in
                    (loop $set
                      (local.set $v (v128.load (i32.add (local.get $inp) (local.get $j))))
                      (v128.store (i32.add (local.get $outp) (local.get $j))
                        (v128.xor
                          (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                          (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4)))))
                      (local.set $v (v128.load offset=16 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=16 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor
                          (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                          (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4)))))
                      (local.set $v (v128.load offset=32 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=32 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor
                          (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                          (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4)))))
                      (local.set $v (v128.load offset=48 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=48 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor
                          (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                          (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4)))))
                      (local.set $j (i32.add (local.get $j) (i32.const 64)))
                      (br_if $set (i32.lt_u (local.get $j) (local.get $clen)))))
                  (else
                    ;; later inputs: out ^= c * in
                    (loop $acc
                      (local.set $v (v128.load (i32.add (local.get $inp) (local.get $j))))
                      (v128.store (i32.add (local.get $outp) (local.get $j))
                        (v128.xor (v128.load (i32.add (local.get $outp) (local.get $j)))
                          (v128.xor
                            (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                            (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))))
                      (local.set $v (v128.load offset=16 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=16 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor (v128.load offset=16 (i32.add (local.get $outp) (local.get $j)))
                          (v128.xor
                            (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                            (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))))
                      (local.set $v (v128.load offset=32 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=32 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor (v128.load offset=32 (i32.add (local.get $outp) (local.get $j)))
                          (v128.xor
                            (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                            (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))))
                      (local.set $v (v128.load offset=48 (i32.add (local.get $inp) (local.get $j))))
                      (v128.store offset=48 (i32.add (local.get $outp) (local.get $j))
                        (v128.xor (v128.load offset=48 (i32.add (local.get $outp) (local.get $j)))
                          (v128.xor
                            (i8x16.swizzle (local.get $lo) (v128.and (local.get $v) (local.get $mask)))
                            (i8x16.swizzle (local.get $hi) (i8x16.shr_u (local.get $v) (i32.const 4))))))
                      (local.set $j (i32.add (local.get $j) (i32.const 64)))
                      (br_if $acc (i32.lt_u (local.get $j) (local.get $clen))))))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $ins)))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (br $outs)))
        (local.set $off (i32.add (local.get $off) (local.get $clen)))
        (br $chunks)))))
