"""CPU timing of our LinearChainCRF against PaddleNLP's CRF and paddle.text.viterbi_decode.

Prints the median wall time over ``--repeats`` runs (after warm-up) of:
ours NLL forward+backward, ours Viterbi (as users get it: ``backend="auto"``, the fused CPU
kernel when it builds) and, for reference, ours Viterbi with ``backend="paddle"`` (Paddle ops
only), PaddleNLP ``LinearChainCrfLoss`` forward+backward, PaddleNLP ``ViterbiDecoder`` and the
``paddle.text.viterbi_decode`` C++ op, then the ratios against the targets (ours NLL <= 0.5x
PaddleNLP, ours Viterbi <= 1.2x paddle.text). The first run may compile the kernel (~15 s,
once; not timed).

Baselines run without start/stop tags (``with_start_stop_tag=False``,
``include_bos_eos_tag=False``), their fastest setting, although ours also adds start and end
transitions. Sequence lengths are random in [seq_len / 2, seq_len] (seeded).

With OMP_NUM_THREADS=2 (the default set below) the paddle.text C++ op sometimes runs ~30x slower
(thousands of involuntary context switches per call: its OpenMP threads contend for the 2 vCPUs);
run with OMP_NUM_THREADS=1 for the stable figures. See docs/benchmarks.md.

Usage: [OMP_NUM_THREADS=1] python benchmarks/crf_bench.py [--batch-size 32] [--seq-len 128]
       [--num-labels 9] [--repeats 20]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def median_ms(fns, repeats, warmup=5, blocks=4):
    """Median wall time (ms) of each function over ``repeats`` runs. The runs are split into
    ``blocks`` rounds; each round gives every function one block of consecutive runs, so all
    contenders sample the VM's drifting speed alike while keeping their own caches warm."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    per_block = max(1, repeats // blocks)
    for _ in range(blocks):
        for name, fn in fns.items():
            for _ in range(per_block):
                begin = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - begin)
    return {name: statistics.median(values) * 1e3 for name, values in times.items()}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--num-labels", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()

    import paddle
    import paddlenlp
    from paddlenlp.layers import LinearChainCrf, LinearChainCrfLoss, ViterbiDecoder

    from ernie_res.layers import crf_kernel
    from ernie_res.layers.crf import LinearChainCRF

    B, T, L = args.batch_size, args.seq_len, args.num_labels
    paddle.seed(0)
    emissions = paddle.randn([B, T, L])
    emissions.stop_gradient = False
    tags = paddle.randint(0, L, [B, T])
    lengths = paddle.randint(T // 2, T + 1, [B])
    lengths[0] = T  # at least one full-length sequence

    ours = LinearChainCRF(L)
    nlp_crf = LinearChainCrf(L, with_start_stop_tag=False)
    nlp_loss = LinearChainCrfLoss(nlp_crf)
    nlp_decoder = ViterbiDecoder(nlp_crf.transitions, with_start_stop_tag=False)

    def ours_nll():
        ours(emissions, tags, lengths=lengths).backward()
        emissions.clear_gradient()
        ours.clear_gradients()

    def nlp_nll():
        nlp_loss(emissions, lengths, tags).mean().backward()
        emissions.clear_gradient()
        nlp_crf.clear_gradients()

    def ours_viterbi():
        ours.viterbi_decode(emissions, lengths=lengths)

    def ours_viterbi_paddle_ops():
        ours.viterbi_decode(emissions, lengths=lengths, backend="paddle")

    def nlp_viterbi():
        with paddle.no_grad():
            nlp_decoder(emissions, lengths)

    def text_viterbi():
        with paddle.no_grad():
            paddle.text.viterbi_decode(emissions, nlp_crf.transitions, lengths, include_bos_eos_tag=False)

    # Same model in both (zero start/end): our paths must equal the C++ op's.
    check = LinearChainCRF(L)
    check.transitions.set_value(nlp_crf.transitions)
    check.start_transitions.set_value(paddle.zeros([L]))
    check.end_transitions.set_value(paddle.zeros([L]))
    with paddle.no_grad():
        _, text_paths = paddle.text.viterbi_decode(emissions, nlp_crf.transitions, lengths, include_bos_eos_tag=False)
    agree = {}
    for backend in ("auto", "paddle"):
        _, our_paths = check.viterbi_decode(emissions, lengths=lengths, backend=backend)
        agree[backend] = bool((our_paths[:, : text_paths.shape[1]] == text_paths).all())
    kernel = "fused CPU kernel" if crf_kernel.load() is not None else f"Paddle ops ({crf_kernel.load_error()})"

    print(f"machine: nproc={os.cpu_count()}, cpu={cpu_model()}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"paddle {paddle.__version__}, paddlenlp {paddlenlp.__version__}, python {sys.version.split()[0]}")
    print(f"B={B} T={T} L={L}, median of {args.repeats} runs (4 interleaved blocks) after 5 warm-up runs")
    print(f"ours Viterbi runs the {kernel}; paths equal paddle.text's: {agree['auto']} "
          f"(Paddle ops: {agree['paddle']})")
    rows = [
        ("ours NLL fwd+bwd", ours_nll),
        ("PaddleNLP LinearChainCrfLoss fwd+bwd", nlp_nll),
        ("ours Viterbi", ours_viterbi),
        ("ours Viterbi, backend='paddle'", ours_viterbi_paddle_ops),
        ("PaddleNLP ViterbiDecoder", nlp_viterbi),
        ("paddle.text.viterbi_decode (C++ op)", text_viterbi),
    ]
    ms = median_ms(dict(rows[:2]), args.repeats)  # the NLL group, then the Viterbi group
    ms.update(median_ms(dict(rows[2:]), args.repeats))
    for name, _ in rows:
        print(f"  {name:40s} {ms[name]:8.2f} ms")
    nll_ratio = ms["ours NLL fwd+bwd"] / ms["PaddleNLP LinearChainCrfLoss fwd+bwd"]
    vit_ratio = ms["ours Viterbi"] / ms["paddle.text.viterbi_decode (C++ op)"]
    vit_nlp = ms["ours Viterbi"] / ms["PaddleNLP ViterbiDecoder"]
    vit_ops = ms["ours Viterbi, backend='paddle'"] / ms["paddle.text.viterbi_decode (C++ op)"]
    print(f"ours NLL / PaddleNLP NLL        = {nll_ratio:.2f}x (target <= 0.5x: {'met' if nll_ratio <= 0.5 else 'MISSED'})")
    print(f"ours Viterbi / paddle.text op   = {vit_ratio:.2f}x (target <= 1.2x: {'met' if vit_ratio <= 1.2 else 'MISSED'})")
    print(f"ours Viterbi / PaddleNLP Viterbi = {vit_nlp:.2f}x")
    print(f"ours Viterbi with Paddle ops only / paddle.text op = {vit_ops:.2f}x (for reference)")


if __name__ == "__main__":
    main()
