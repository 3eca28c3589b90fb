#!/usr/bin/env bash
# Prepares .device/cuda/ here: the graphs of tests/cuda/graphs compiled with
# --target=cpu,cuda, NumPy inputs for them (with NaN, infinities, halves and
# large values mixed in), ugcc-run with its libraries and the comparison
# script.  Then, on the GPU machine (device tool, carry .device):
#   cd .device/cuda && LD_LIBRARY_PATH=$PWD/lib python3 cuda_compare.py .
#   LD_LIBRARY_PATH=$PWD/lib compute-sanitizer --tool memcheck ./ugcc-run ...
#   scripts/device/cuda-compare.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
dst=.device/cuda
rm -rf "$dst" && mkdir -p "$dst/lib"
mkdir -p "$(git rev-parse --git-dir)/info"; grep -qx '/.device/' "$(git rev-parse --git-dir)/info/exclude" 2>/dev/null || echo '/.device/' >> "$(git rev-parse --git-dir)/info/exclude"
for g in tests/cuda/graphs/*.ugir; do
  "$build/tools/ugcc" "$g" --target=cpu,cuda -o "$dst/$(basename "$g" .ugir).so"
done
# precision: the f32 matmul graphs with each rounding --precision (the
# default, 3xTF32, is the build above); cases in the '# precision' block
for g in tests/cuda/graphs/contract_f32_*.ugir; do
  for p in tf32 fp16 bf16; do
    "$build/tools/ugcc" "$g" --target=cpu,cuda --precision=$p -o "$dst/$(basename "$g" .ugir).$p.so"
  done
done
python3 - "$dst" <<'PY'
import sys, numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
def arr(shape, dtype=np.float32, scale=3.0, special=True):
    a = rng.standard_normal(shape) * scale
    flat = a.reshape(-1)
    if special and flat.size > 16:
        idx = rng.choice(flat.size, size=max(8, flat.size // 200), replace=False)
        pool = np.array([np.nan, np.inf, -np.inf, 0.5, -0.5, 1.5, 2.5, -2.5, 0.0, -0.0, 1e30, -1e30, 300.0, -200.0, 65504.0, 70000.0])
        flat[idx] = pool[rng.integers(0, pool.size, idx.size)]
    with np.errstate(over='ignore'):
        return a.astype(dtype)
cases = []
def case(model, **inputs):
    args = []
    for name, a in inputs.items():
        f = 'in%d.%s.%s.npy' % (len(cases), model, name)
        np.save('%s/%s' % (d, f), a)
        args.append('%s=%s' % (name, f))
    cases.append(' '.join(['%s.so' % model] + args))
case('ew_unary', x=arr((64, 1003)))
n = 3
case('ew_binary', a=arr((n, 3, 1, 5)), b=arr((4, 1)), c=arr((n, 3, 4, 5)), lo=np.array(-1.5, np.float32), hi=np.array(2.0, np.float32))
case('ew_lowp', x=arr((1024, 1027), np.float16, 2.0), y=arr((1027,), np.float16, 2.0), zf=arr((1024, 1027), np.float32, 2.0))
k = rng.integers(-9, 10, 257).astype(np.int32); k[:3] = [0, -1, 1]
case('ew_int', x=arr((33, 257), scale=100.0), k=k)
case('movement', x=arr((40000, 3, 4, 5), special=False), y=arr((40000, 2, 4, 5), special=False), e=arr((3, 1), np.float16, special=False))
# symbolic batch of 1 and of 0 (empty tensors: steps with a zero grid are skipped)
case('ew_unary', x=arr((1, 1003)))
case('movement', x=arr((0, 3, 4, 5)), y=arr((0, 2, 4, 5)), e=arr((3, 1), np.float16, special=False))
# contract family: dyadic values (k/4, |k| <= 8) make every product and sum
# exact in f32 (also on tf32 / f16 / bf16 tensor cores), so CPU and GPU must
# agree bit for bit whatever the summation order; integers wrap
def dy(shape, dtype=np.float32):
    return (rng.integers(-8, 9, shape) / 4.0).astype(dtype)
def mm_inputs(n):
    return dict(h=dy((n, 67, 45), np.float16), hw=dy((45, 129), np.float16), hv=dy((n, 136, 264), np.float16),
                hu=dy((1, 264, 200), np.float16), bvf=dy((n, 136, 264)), buf=dy((264, 200)), bof=dy((n, 67, 45)),
                bwf=dy((45, 129)), f=dy((n, 1, 67, 45)), fw=dy((3, 45, 129)), d=dy((67, 45), np.float64),
                dw=dy((45, 129), np.float64), i=rng.integers(-2**31, 2**31, (n, 33, 70)).astype(np.int32),
                iw=rng.integers(-2**31, 2**31, (70, 19)).astype(np.int32), v=dy((45,)),
                x8=rng.integers(-128, 128, (9, 300)).astype(np.int8), w8=rng.integers(-128, 128, (300, 5)).astype(np.int8))
def conv_inputs(n):
    return dict(x=dy((n, 4, 17, 19)), w=dy((6, 2, 3, 3)), b=dy((6,)), xd=dy((n, 4, 8, 8)), wd=dy((4, 1, 3, 3)),
                w1=dy((5, 4, 1, 1)), x1=dy((2, 3, 10), np.float64), w1d=dy((4, 3, 3), np.float64), x3=dy((1, 2, 4, 5, 6)),
                w3=dy((3, 2, 2, 2, 2)), xh=dy((n, 3, 9, 9), np.float16), wh=dy((8, 3, 3, 3), np.float16),
                bh=dy((8,), np.float16), xt=dy((n, 4, 5, 6)), wt=dy((4, 3, 3, 2)), bt=dy((6,)), xbf=dy((n, 2, 4, 4)),
                wbf=dy((2, 2, 2, 2)))
for n in (2, 1, 0):
    case('contract_matmul', **mm_inputs(n))
    case('contract_conv', **conv_inputs(n))
# precision: f32 matmul on tensor cores.  Dyadic values are exact in every
# --precision (tf32, f16 and bf16 hold them; every sum is exact in f32).
# Values of 12 significant bits (j/256, |j| < 4096) times dyadic ones are
# exact in f32 and in 3xTF32 (the split x = big + small is exact and the
# dropped small*small' term is 0) but not in single tf32: they check that
# the default really splits, A's operand and B's.  inf / NaN mixed into
# dyadic values check the 3xTF32 NaN fix-up (inf and NaN where the CPU has
# them; which products are inf or NaN does not depend on the order).  The
# contract_f32_*.<precision>.so models are compiled above.
def b12(shape):
    return (rng.integers(-4096, 4096, shape) / 256.0).astype(np.float32)
def dy_special(shape):
    a = dy(shape)
    flat = a.reshape(-1)
    idx = rng.choice(flat.size, size=max(2, flat.size // 500), replace=False)
    flat[idx] = np.array([np.inf, -np.inf, np.nan], np.float32)[rng.integers(0, 3, idx.size)]
    return a
def f32_mm(n, f=dy, g=dy):
    return dict(a=f((n, 67, 45)), w=g((45, 129)), b=f((n, 136, 264)), u=g((1, 264, 200)), c=f((3, 1, 130, 33)),
                cw=g((2, 33, 257)))
def f32_vec(n, f=dy, g=dy):
    # v meets t (B), x (A) and itself: dyadic, so every product with it is exact
    return dict(s=f((256, 128)), t=g((128, 256)), p=f((40, 1)), q=g((1, 37)), v=dy((128,)), x=f((n, 33, 128)),
                k=f((n, 70, 3)), kw=g((3, 5)), j=f((n, 70, 4)), jw=g((4, 4)), y=f((n, 64, 64)), z=g((n, 64, 64)))
for n in (2, 0):
    case('contract_f32_mm', **f32_mm(n))
    case('contract_f32_vec', **f32_vec(n))
case('contract_f32_mm', **f32_mm(3, b12, dy))
case('contract_f32_mm', **f32_mm(1, dy, b12))
case('contract_f32_vec', **f32_vec(2, b12, dy))
case('contract_f32_vec', **f32_vec(1, dy, b12))
case('contract_f32_mm', **f32_mm(2, dy_special, dy_special))
case('contract_f32_vec', **f32_vec(2, dy_special, dy_special))
for prec in ('tf32', 'fp16', 'bf16'):
    case('contract_f32_mm.' + prec, **f32_mm(2))
    case('contract_f32_vec.' + prec, **f32_vec(1))
# reduce family: positive values (sums without cancellation, so the CPU's
# and the GPU's summation orders agree within the tolerance), a second run
# with NaN / inf / -0 mixed in (no huge finite values: they would cancel in
# order-dependent ways), ties for argmax/topk, odd and symbolic row lengths
# (unaligned rows, scalar tails), and empty batches
def rpos(shape, dtype=np.float32, scale=3.0):
    return (np.abs(rng.standard_normal(shape)) * scale + 0.5).astype(dtype)
def rnonfinite(shape, dtype=np.float32):
    a = rpos(shape, np.float64)
    flat = a.reshape(-1)
    idx = rng.choice(flat.size, size=max(4, flat.size // 300), replace=False)
    flat[idx] = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0])[rng.integers(0, 5, idx.size)]
    return a.astype(dtype)
def rrows(n, f=rpos):
    return dict(x=f((n, 1003)), z=f((n, 4096)), w=f((n, 40000)), g=rpos((4096,)), bb=rpos((4096,)), gx=rpos((1003,)))
def raxes(n, f=rpos):
    return dict(x=np.round(f((n, 3, 5, 7))), k=rng.integers(-9, 10, (n, 6, 33)).astype(np.int32))
def rsym(n, s):
    return dict(x=rpos((n, s)), h=rpos((n, s), np.float16, 2.0), g=rpos((s,), np.float16, 1.0))
case('reduce_rows', **rrows(3))
case('reduce_rows', **rrows(2, rnonfinite))
case('reduce_rows', **rrows(0))
case('reduce_lowp', x=rpos((3, 4096), np.float16, 2.0), y=rpos((3, 1000), np.float16, 2.0), u=rpos((3, 77), np.float16, 2.0),
     g=rpos((4096,), np.float16, 1.0), bb=rpos((4096,), np.float16, 1.0), zf=rpos((3, 1000)))
case('reduce_axes', **raxes(3))
case('reduce_axes', **raxes(2, rnonfinite))
case('reduce_axes', **raxes(0))
# fused kernels (tests/cuda/graphs/fused_kernels.ugir): matmul epilogues on
# dyadic values (the matmuls exact in any order), row kernels on positive
# rows, an elementwise chain; a symbolic batch of 2 and of 0
def fused(n):
    h = np.float16
    return dict(x=dy((n, 64, 96), h), w=dy((96, 136), h), b=dy((136,), h), r=dy((n, 64, 136), h), xbf=dy((2, 40, 72)),
                wbf=dy((72, 24)), xf=dy((33, 45)), wf=dy((45, 70)), sf=rpos((33, 1)), s=rpos((8, 4096), h, 2.0),
                y=rpos((5, 300)), g=rpos((300,)), bb=rpos((300,)), z=rpos((6, 520)), e=arr((n, 3, 700), h, 2.0, special=False),
                u=arr((700,), h, 1.0, special=False))
case('fused_kernels', **fused(2))
case('fused_kernels', **fused(0))
case('reduce_norms', x=rpos((3, 3, 5, 6)), h=rpos((3, 3, 5, 6), np.float16, 2.0), sc=rpos((3,)), bi=rpos((3,)), me=rpos((3,)),
     va=rpos((3,)), t=rpos((3, 4, 6)), g6=rpos((6,)), b46=rpos((4, 6)), g41=rpos((4, 1)))
case('reduce_symlen', **rsym(4, 1000))
case('reduce_symlen', **rsym(5, 77))
case('reduce_symlen', **rsym(2, 50001))
case('reduce_symlen', **rsym(3, 0))
# gather family: indices include negative and out-of-range values (both
# backends wrap once, then clamp); scatter indices repeat (the updates of one
# destination apply in index order on both, so even float add is bit-exact);
# the scatter batch of 70 gives more than one block of lines; empty batches
# (not for the scatters: their indices would point into an empty axis)
def gather_family():
    def index(shape, dim, dtype=np.int64):
        a = rng.integers(-dim, dim, shape)
        flat = a.reshape(-1)
        if flat.size > 4:
            flat[:2] = [dim + 2, -dim - 3]
        return a.astype(dtype)
    def nd_index(shape, dims):
        return np.stack([index(shape, dd) for dd in dims], axis=-1)
    def u8(shape):
        return rng.integers(0, 256, shape).astype(np.uint8)
    for b in (3, 0):
        case('gather_index', x=arr((b, 5, 3)), i=index((2, 4), 5), s=np.array(-1, np.int32), e=arr((b, 6), np.float16),
             ei=index((b, 4), 6, np.int32), d=rng.integers(-1000, 1000, (b, 4, 3)).astype(np.int64),
             ni=nd_index((b, 2), (4, 3)), d2=arr((4, 3, 2)), nj=nd_index((b, 5), (4, 3)))
        case('gather_pad', x=arr((b, 3, 4, 5)), cv=np.array(7.5, np.float32), h=arr((b, 4, 5), np.float16),
             t=rng.integers(-1000, 1000, (b, 3, 4)).astype(np.int64), m=arr((b, 5, 6)), kk=np.array(-1, np.int64))
        case('gather_resize', x=arr((b, 2, 4, 5)), h=arr((b, 3, 6), np.float16), u=u8((1, 1, 4, 4)))
        case('gather_range', x=arr((b, 3, 5)), s=np.array(-3.25, np.float32), l=np.array(10.45, np.float32),
             d=np.array(0.0137, np.float32), a=np.array(10, np.int64), b=np.array(-5, np.int64), c=np.array(-3, np.int64),
             hs=np.array(1.5, np.float16), hl=np.array(4.2, np.float16), hd=np.array(0.3, np.float16))
        case('pool_window', x=arr((b, 3, 12, 13)), h=arr((b, 2, 9, 10), np.float16), v=arr((b, 2, 17)),
             w=arr((2, 2, 5, 6, 7)), u=u8((b, 2, 6, 6)))
    b = 70
    case('gather_scatter', x=arr((b, 6, 5)), si=index((b, 4, 5), 6), su=arr((b, 4, 5)), h=arr((8, 7), np.float16),
         hi=index((3, 7), 8, np.int32), hu=arr((3, 7), np.float16), y=rng.integers(-1000, 1000, (10, 3)).astype(np.int64),
         ni=index((6, 1), 10), nu=rng.integers(-1000, 1000, (6, 3)).astype(np.int64), z=arr((3, 4)),
         zi=nd_index((5,), (3, 4)), zu=arr((5,)), w=arr((b, 300)), wi=index((7, 1), b), wu=arr((7, 300)))
gather_family()
open('%s/cases.txt' % d, 'w').write('\n'.join(cases) + '\n')
PY
cp "$build/tools/ugcc-run" "$dst/"
cp -L "$build/runtime/libugrt.so.0" "$dst/lib/"
cp -L "$(ldconfig -p | awk '/libprotobuf-c.so.1 /{print $NF; exit}')" "$dst/lib/"
cp scripts/device/cuda_compare.py "$dst/"
du -sh "$dst"
