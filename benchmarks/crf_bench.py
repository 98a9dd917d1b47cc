"""CPU timing of our LinearChainCRF against PaddleNLP's CRF and paddle.text.viterbi_decode.

Prints the median wall time over ``--repeats`` runs (after warm-up) of:
ours NLL forward+backward against PaddleNLP ``LinearChainCrfLoss`` forward+backward, and ours
Viterbi as SEQ runs it everywhere (evaluation, prediction, the exported program):
``decode_in_graph``, i.e. Paddle's ``paddle.text.viterbi_decode`` C++ op with our start, end
and constraint scores folded into its BOS/EOS rows, against PaddleNLP ``ViterbiDecoder``. For
reference it also times the bare ``paddle.text.viterbi_decode`` op and
``LinearChainCRF.viterbi_decode`` (the Paddle-op reference decoder), then prints the ratios
against the targets (ours NLL <= 0.5x PaddleNLP, ours Viterbi <= 1.2x paddle.text).

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

    from ernie_res.layers.crf import LinearChainCRF
    from ernie_res.models.seq_tagger import decode_in_graph

    B, T, L = args.batch_size, args.seq_len, args.num_labels
    paddle.seed(0)
    emissions = paddle.randn([B, T, L])
    emissions.stop_gradient = False
    tags = paddle.randint(0, L, [B, T])
    lengths = paddle.randint(T // 2, T + 1, [B])
    lengths[0] = T  # at least one full-length sequence
    word_mask = (paddle.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).astype("int64")  # [B, T]

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
        with paddle.no_grad():
            decode_in_graph(ours, emissions, word_mask)

    def ours_reference_viterbi():
        ours.viterbi_decode(emissions, lengths=lengths)

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
        width = text_paths.shape[1]
        in_graph = decode_in_graph(check, emissions, word_mask)
    _, reference = check.viterbi_decode(emissions, lengths=lengths)
    agree = {name: bool((paths[:, :width] == text_paths).all())
             for name, paths in (("ours", in_graph), ("reference", reference))}

    print(f"machine: nproc={os.cpu_count()}, cpu={cpu_model()}, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"paddle {paddle.__version__}, paddlenlp {paddlenlp.__version__}, python {sys.version.split()[0]}")
    print(f"B={B} T={T} L={L}, median of {args.repeats} runs (4 interleaved blocks) after 5 warm-up runs")
    print(f"paths equal paddle.text's: ours (decode_in_graph) {agree['ours']}, "
          f"LinearChainCRF.viterbi_decode {agree['reference']}")
    rows = [
        ("ours NLL fwd+bwd", ours_nll),
        ("PaddleNLP LinearChainCrfLoss fwd+bwd", nlp_nll),
        ("ours Viterbi (decode_in_graph)", ours_viterbi),
        ("LinearChainCRF.viterbi_decode", ours_reference_viterbi),
        ("PaddleNLP ViterbiDecoder", nlp_viterbi),
        ("paddle.text.viterbi_decode (C++ op)", text_viterbi),
    ]
    ms = median_ms(dict(rows[:2]), args.repeats)  # the NLL group, then the Viterbi group
    ms.update(median_ms(dict(rows[2:]), args.repeats))
    for name, _ in rows:
        print(f"  {name:40s} {ms[name]:8.2f} ms")
    nll_ratio = ms["ours NLL fwd+bwd"] / ms["PaddleNLP LinearChainCrfLoss fwd+bwd"]
    vit_ratio = ms["ours Viterbi (decode_in_graph)"] / ms["paddle.text.viterbi_decode (C++ op)"]
    vit_nlp = ms["ours Viterbi (decode_in_graph)"] / ms["PaddleNLP ViterbiDecoder"]
    vit_ref = ms["LinearChainCRF.viterbi_decode"] / ms["paddle.text.viterbi_decode (C++ op)"]
    print(f"ours NLL / PaddleNLP NLL        = {nll_ratio:.2f}x (target <= 0.5x: {'met' if nll_ratio <= 0.5 else 'MISSED'})")
    print(f"ours Viterbi / paddle.text op   = {vit_ratio:.2f}x (target <= 1.2x: {'met' if vit_ratio <= 1.2 else 'MISSED'})")
    print(f"ours Viterbi / PaddleNLP Viterbi = {vit_nlp:.2f}x")
    print(f"LinearChainCRF.viterbi_decode / paddle.text op = {vit_ref:.2f}x (the reference decoder)")

if __name__ == "__main__":
    main()
