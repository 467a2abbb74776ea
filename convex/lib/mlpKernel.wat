;; The MLP engine's WebAssembly SIMD kernel, in float32 (as PyTorch and
;; onnxruntime compute): `prepare` L2-normalises input rows in place, and
;; `dense` computes y = act(x·Wᵀ + b) for one layer over `rows` input vectors.
;;
;; Layout (set up by convex/lib/mlpWasmKernel.ts): every pointer is a byte
;; offset, 16-byte aligned; W is outPad × inPad row-major, b has outPad
;; entries, x is rows × inPad and y rows × outPad, where inPad and outPad are
;; the layer's widths rounded up to a multiple of 8. The padding is zeros in W
;; and b, so padded outputs are exactly 0 and the next layer can read them.
;;
;; Both return the largest magnitude they produced (NaN if any value was NaN
;; or infinite): the caller redoes the work in float64 JavaScript when that
;; is not comfortably finite, so float32 overflow never reaches a result.
;;
;; One source, two modules (tools/build/buildMlpKernel.ts): every
;; multiply-accumulate is written as relaxed SIMD's fused `f32x4.relaxed_madd`
;; for runtimes that have it, and the plain-SIMD module expands each into
;; `f32x4.add` of an `f32x4.mul`, which is the unfused result relaxed_madd is
;; itself allowed to give. Regenerate convex/lib/mlpKernelBytes.ts after
;; editing: npm run build:kernel
(module
  (memory (export "memory") 1)

  ;; Over one `dense` call: the running max of |pre-activation| (f32x4.pmax,
  ;; one instruction where f32x4.max is eight, but blind to NaN), and the sum
  ;; of z - z, which stays 0 until some z is NaN or infinite and NaN after.
  (global $peak (mut v128) (v128.const f32x4 0 0 0 0))
  (global $poison (mut v128) (v128.const f32x4 0 0 0 0))
  ;; What ReLU clamps to: 0 for a ReLU layer, -Infinity (no clamp) otherwise.
  (global $floor (mut v128) (v128.const f32x4 0 0 0 0))

  ;; [Σa, Σb, Σc, Σd]: the four horizontal sums as one vector.
  (func $sum4 (param $a v128) (param $b v128) (param $c v128) (param $d v128) (result v128)
    (local $ab v128) (local $cd v128)
    (local.set $ab
      (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a) (local.get $b))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a) (local.get $b))))
    (local.set $cd
      (f32x4.add
        (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $c) (local.get $d))
        (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $c) (local.get $d))))
    (f32x4.add
      (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $ab) (local.get $cd))
      (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $ab) (local.get $cd))))

  ;; Stores four outputs (already biased), clamped to $floor.
  (func $emit (param $z v128) (param $y i32)
    (global.set $peak (f32x4.pmax (global.get $peak) (f32x4.abs (local.get $z))))
    (global.set $poison (f32x4.add (global.get $poison) (f32x4.sub (local.get $z) (local.get $z))))
    (v128.store (local.get $y) (f32x4.pmax (global.get $floor) (local.get $z))))

  ;; max over lanes of (peak + poison): the largest magnitude, or NaN.
  (func $peakOf (param $peak v128) (param $poison v128) (result f32)
    (local.set $peak (f32x4.add (local.get $peak) (local.get $poison)))
    (f32.max
      (f32.max (f32x4.extract_lane 0 (local.get $peak)) (f32x4.extract_lane 1 (local.get $peak)))
      (f32.max (f32x4.extract_lane 2 (local.get $peak)) (f32x4.extract_lane 3 (local.get $peak)))))

  ;; One input vector: four weight rows per pass, each row split over two
  ;; accumulators (eight independent sums), so each x load serves four rows.
  (func $denseRow (param $w i32) (param $b i32) (param $x i32) (param $y i32)
                  (param $inBytes i32) (param $outPad i32)
    (local $o i32) (local $i i32)
    (local $w0 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32)
    (local $x0 v128) (local $x1 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $w0 (local.get $w))
    (loop $outputs
      (local.set $w1 (i32.add (local.get $w0) (local.get $inBytes)))
      (local.set $w2 (i32.add (local.get $w1) (local.get $inBytes)))
      (local.set $w3 (i32.add (local.get $w2) (local.get $inBytes)))
      (local.set $a0 (v128.const f32x4 0 0 0 0))
      (local.set $a1 (v128.const f32x4 0 0 0 0))
      (local.set $a2 (v128.const f32x4 0 0 0 0))
      (local.set $a3 (v128.const f32x4 0 0 0 0))
      (local.set $c0 (v128.const f32x4 0 0 0 0))
      (local.set $c1 (v128.const f32x4 0 0 0 0))
      (local.set $c2 (v128.const f32x4 0 0 0 0))
      (local.set $c3 (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (loop $inputs
        (local.set $x0 (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $x1 (v128.load offset=16 (i32.add (local.get $x) (local.get $i))))
        (local.set $a0 (f32x4.relaxed_madd (v128.load (i32.add (local.get $w0) (local.get $i))) (local.get $x0) (local.get $a0)))
        (local.set $a1 (f32x4.relaxed_madd (v128.load (i32.add (local.get $w1) (local.get $i))) (local.get $x0) (local.get $a1)))
        (local.set $a2 (f32x4.relaxed_madd (v128.load (i32.add (local.get $w2) (local.get $i))) (local.get $x0) (local.get $a2)))
        (local.set $a3 (f32x4.relaxed_madd (v128.load (i32.add (local.get $w3) (local.get $i))) (local.get $x0) (local.get $a3)))
        (local.set $c0 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $w0) (local.get $i))) (local.get $x1) (local.get $c0)))
        (local.set $c1 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $w1) (local.get $i))) (local.get $x1) (local.get $c1)))
        (local.set $c2 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $w2) (local.get $i))) (local.get $x1) (local.get $c2)))
        (local.set $c3 (f32x4.relaxed_madd (v128.load offset=16 (i32.add (local.get $w3) (local.get $i))) (local.get $x1) (local.get $c3)))
        (local.set $i (i32.add (local.get $i) (i32.const 32)))
        (br_if $inputs (i32.lt_u (local.get $i) (local.get $inBytes))))
      (call $emit
        (f32x4.add
          (call $sum4
            (f32x4.add (local.get $a0) (local.get $c0))
            (f32x4.add (local.get $a1) (local.get $c1))
            (f32x4.add (local.get $a2) (local.get $c2))
            (f32x4.add (local.get $a3) (local.get $c3)))
          (v128.load (i32.add (local.get $b) (i32.shl (local.get $o) (i32.const 2)))))
        (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2))))
      (local.set $w0 (i32.add (local.get $w3) (local.get $inBytes)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $outputs (i32.lt_u (local.get $o) (local.get $outPad)))))

  ;; Two input vectors: a 2-input × 4-output tile, so each weight load
  ;; serves both inputs and each input load four rows (eight sums).
  (func $denseRowPair (param $w i32) (param $b i32) (param $x i32) (param $y i32)
                      (param $inBytes i32) (param $outPad i32)
    (local $o i32) (local $i i32) (local $xq i32) (local $bias v128)
    (local $w0 i32) (local $w1 i32) (local $w2 i32) (local $w3 i32)
    (local $p v128) (local $q v128) (local $v v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local.set $xq (i32.add (local.get $x) (local.get $inBytes)))
    (local.set $w0 (local.get $w))
    (loop $outputs
      (local.set $w1 (i32.add (local.get $w0) (local.get $inBytes)))
      (local.set $w2 (i32.add (local.get $w1) (local.get $inBytes)))
      (local.set $w3 (i32.add (local.get $w2) (local.get $inBytes)))
      (local.set $a0 (v128.const f32x4 0 0 0 0))
      (local.set $a1 (v128.const f32x4 0 0 0 0))
      (local.set $a2 (v128.const f32x4 0 0 0 0))
      (local.set $a3 (v128.const f32x4 0 0 0 0))
      (local.set $c0 (v128.const f32x4 0 0 0 0))
      (local.set $c1 (v128.const f32x4 0 0 0 0))
      (local.set $c2 (v128.const f32x4 0 0 0 0))
      (local.set $c3 (v128.const f32x4 0 0 0 0))
      (local.set $i (i32.const 0))
      (loop $inputs
        (local.set $p (v128.load (i32.add (local.get $x) (local.get $i))))
        (local.set $q (v128.load (i32.add (local.get $xq) (local.get $i))))
        (local.set $v (v128.load (i32.add (local.get $w0) (local.get $i))))
        (local.set $a0 (f32x4.relaxed_madd (local.get $v) (local.get $p) (local.get $a0)))
        (local.set $c0 (f32x4.relaxed_madd (local.get $v) (local.get $q) (local.get $c0)))
        (local.set $v (v128.load (i32.add (local.get $w1) (local.get $i))))
        (local.set $a1 (f32x4.relaxed_madd (local.get $v) (local.get $p) (local.get $a1)))
        (local.set $c1 (f32x4.relaxed_madd (local.get $v) (local.get $q) (local.get $c1)))
        (local.set $v (v128.load (i32.add (local.get $w2) (local.get $i))))
        (local.set $a2 (f32x4.relaxed_madd (local.get $v) (local.get $p) (local.get $a2)))
        (local.set $c2 (f32x4.relaxed_madd (local.get $v) (local.get $q) (local.get $c2)))
        (local.set $v (v128.load (i32.add (local.get $w3) (local.get $i))))
        (local.set $a3 (f32x4.relaxed_madd (local.get $v) (local.get $p) (local.get $a3)))
        (local.set $c3 (f32x4.relaxed_madd (local.get $v) (local.get $q) (local.get $c3)))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br_if $inputs (i32.lt_u (local.get $i) (local.get $inBytes))))
      (local.set $bias (v128.load (i32.add (local.get $b) (i32.shl (local.get $o) (i32.const 2)))))
      (call $emit
        (f32x4.add (call $sum4 (local.get $a0) (local.get $a1) (local.get $a2) (local.get $a3)) (local.get $bias))
        (i32.add (local.get $y) (i32.shl (local.get $o) (i32.const 2))))
      (call $emit
        (f32x4.add (call $sum4 (local.get $c0) (local.get $c1) (local.get $c2) (local.get $c3)) (local.get $bias))
        (i32.add
          (i32.add (local.get $y) (i32.shl (local.get $outPad) (i32.const 2)))
          (i32.shl (local.get $o) (i32.const 2))))
      (local.set $w0 (i32.add (local.get $w3) (local.get $inBytes)))
      (local.set $o (i32.add (local.get $o) (i32.const 4)))
      (br_if $outputs (i32.lt_u (local.get $o) (local.get $outPad)))))

  ;; Prepares `rows` input rows of inPad floats in place: L2-normalises each
  ;; when $l2 is 1, and returns max |value| (NaN if any was NaN or infinite).
  ;; Returns +Infinity at once when a row's sum of squares is outside
  ;; (1e-30, 1e30), where float32 would lose it: the caller then normalises
  ;; in float64. Two partial sums of squares, so the adds do not wait on each
  ;; other (inPad is a multiple of 8).
  (func (export "prepare") (param $x i32) (param $rows i32) (param $inPad i32) (param $l2 i32) (result f32)
    (local $p i32) (local $rowEnd i32) (local $r i32)
    (local $v v128) (local $u v128) (local $sum v128) (local $sum2 v128) (local $scale v128)
    (local $peak v128) (local $poison v128) (local $squares f32)
    (block $done
      (loop $eachRow
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $rowEnd (i32.add (local.get $x) (i32.shl (local.get $inPad) (i32.const 2))))
        (local.set $scale (v128.const f32x4 1 1 1 1))
        (if (local.get $l2)
          (then
            (local.set $sum (v128.const f32x4 0 0 0 0))
            (local.set $sum2 (v128.const f32x4 0 0 0 0))
            (local.set $p (local.get $x))
            (loop $squaresLoop
              (local.set $v (v128.load (local.get $p)))
              (local.set $u (v128.load offset=16 (local.get $p)))
              (local.set $sum (f32x4.add (local.get $sum) (f32x4.mul (local.get $v) (local.get $v))))
              (local.set $sum2 (f32x4.add (local.get $sum2) (f32x4.mul (local.get $u) (local.get $u))))
              (local.set $p (i32.add (local.get $p) (i32.const 32)))
              (br_if $squaresLoop (i32.lt_u (local.get $p) (local.get $rowEnd))))
            (local.set $sum (f32x4.add (local.get $sum) (local.get $sum2)))
            (local.set $squares
              (f32.add
                (f32.add (f32x4.extract_lane 0 (local.get $sum)) (f32x4.extract_lane 1 (local.get $sum)))
                (f32.add (f32x4.extract_lane 2 (local.get $sum)) (f32x4.extract_lane 3 (local.get $sum)))))
            (if (i32.eqz (i32.and (f32.gt (local.get $squares) (f32.const 1e-30)) (f32.lt (local.get $squares) (f32.const 1e30))))
              (then (return (f32.const inf))))
            (local.set $scale (f32x4.splat (f32.div (f32.const 1) (f32.sqrt (local.get $squares)))))))
        ;; Scale (by 1 without L2) and track the peak in one pass.
        (local.set $p (local.get $x))
        (loop $scaleLoop
          (local.set $v (f32x4.mul (v128.load (local.get $p)) (local.get $scale)))
          (v128.store (local.get $p) (local.get $v))
          (local.set $peak (f32x4.pmax (local.get $peak) (f32x4.abs (local.get $v))))
          (local.set $poison (f32x4.add (local.get $poison) (f32x4.sub (local.get $v) (local.get $v))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (br_if $scaleLoop (i32.lt_u (local.get $p) (local.get $rowEnd))))
        (local.set $x (local.get $rowEnd))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $eachRow)))
    (call $peakOf (local.get $peak) (local.get $poison)))

  ;; One layer over `rows` vectors, in pairs, the odd one out alone; ReLU
  ;; when $relu is 1. (A 4-input × 2-output tile, which halves the weight
  ;; traffic, measured slower.) Returns max |pre-activation| (NaN if any was
  ;; NaN or infinite).
  (func (export "dense") (param $w i32) (param $b i32) (param $x i32) (param $y i32)
                         (param $inPad i32) (param $outPad i32) (param $rows i32) (param $relu i32)
                         (result f32)
    (local $inBytes i32) (local $outBytes i32) (local $r i32)
    (global.set $peak (v128.const f32x4 0 0 0 0))
    (global.set $poison (v128.const f32x4 0 0 0 0))
    (global.set $floor
      (select (v128.const f32x4 0 0 0 0) (v128.const f32x4 -inf -inf -inf -inf) (local.get $relu)))
    (local.set $inBytes (i32.shl (local.get $inPad) (i32.const 2)))
    (local.set $outBytes (i32.shl (local.get $outPad) (i32.const 2)))
    (block $pairsDone
      (loop $pairs
        (br_if $pairsDone (i32.gt_u (i32.add (local.get $r) (i32.const 2)) (local.get $rows)))
        (call $denseRowPair (local.get $w) (local.get $b) (local.get $x) (local.get $y)
                            (local.get $inBytes) (local.get $outPad))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $inBytes) (i32.const 1))))
        (local.set $y (i32.add (local.get $y) (i32.shl (local.get $outBytes) (i32.const 1))))
        (local.set $r (i32.add (local.get $r) (i32.const 2)))
        (br $pairs)))
    (if (i32.lt_u (local.get $r) (local.get $rows))
      (then
        (call $denseRow (local.get $w) (local.get $b) (local.get $x) (local.get $y)
                        (local.get $inBytes) (local.get $outPad))))
    (call $peakOf (global.get $peak) (global.get $poison))))
