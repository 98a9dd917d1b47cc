// Viterbi decoding of a linear-chain CRF as one fused Paddle custom operator (CPU).
//
// The same model and semantics as LinearChainCRF.viterbi_decode in ernie_res/layers/crf.py,
// whose Paddle-op implementation spends most of its time dispatching ~5 small ops per time
// step. This kernel runs the whole recursion and the backtracking in one call. It is compiled
// on first use by ernie_res/layers/crf_kernel.py (paddle.utils.cpp_extension) and the layer
// falls back to its Paddle ops when it is unavailable.
//
// Inputs (all on the CPU):
//   emissions   float32/float64 [B, T, L]
//   lengths     int64 [B], each in [1, T] (steps >= lengths[b] are padding)
//   transitions [L, L] (score of i -> j), start [L], end [L]: same dtype as the emissions,
//               with any constraint penalty already added
// Outputs:
//   scores      [B], the best path's score:
//               start[y0] + sum_t emissions[t, yt] + sum_t transitions[y(t-1), yt] + end[y(n-1)]
//   paths       int64 [B, T], the best path, 0 at padded steps
// Ties go to the lowest tag index at every step (the first maximum, as argmax does).

#include <cstdint>
#include <limits>
#include <vector>

#include "paddle/extension.h"

namespace {

template <typename T>
void ViterbiKernel(const T* emissions, const int64_t* lengths, const T* transitions, const T* start,
                   const T* end, int64_t batch_size, int64_t seq_len, int64_t num_labels, T* scores,
                   int64_t* paths) {
  const int64_t L = num_labels;
  std::vector<T> alpha(L), next(L);
  std::vector<int64_t> pointers(seq_len * L);  // pointers[t * L + j]: best tag at t - 1 given j at t
  for (int64_t b = 0; b < batch_size; ++b) {
    const T* emit = emissions + b * seq_len * L;
    const int64_t n = lengths[b];
    for (int64_t j = 0; j < L; ++j) alpha[j] = start[j] + emit[j];
    for (int64_t t = 1; t < n; ++t) {
      int64_t* pointer = pointers.data() + t * L;
      // i outer, j inner: the inner loop runs over a contiguous row of the transitions.
      for (int64_t j = 0; j < L; ++j) {
        next[j] = alpha[0] + transitions[j];
        pointer[j] = 0;
      }
      for (int64_t i = 1; i < L; ++i) {
        const T from = alpha[i];
        const T* row = transitions + i * L;
        for (int64_t j = 0; j < L; ++j) {
          const T candidate = from + row[j];
          if (candidate > next[j]) {  // strict: ties keep the lower index
            next[j] = candidate;
            pointer[j] = i;
          }
        }
      }
      const T* step = emit + t * L;
      for (int64_t j = 0; j < L; ++j) alpha[j] = next[j] + step[j];
    }
    int64_t tag = 0;
    T best = alpha[0] + end[0];
    for (int64_t j = 1; j < L; ++j) {
      const T candidate = alpha[j] + end[j];
      if (candidate > best) {
        best = candidate;
        tag = j;
      }
    }
    scores[b] = best;
    int64_t* path = paths + b * seq_len;
    for (int64_t t = n; t < seq_len; ++t) path[t] = 0;
    path[n - 1] = tag;
    for (int64_t t = n - 1; t > 0; --t) {
      tag = pointers[t * L + tag];
      path[t - 1] = tag;
    }
  }
}

}  // namespace

std::vector<paddle::Tensor> ViterbiForward(const paddle::Tensor& emissions, const paddle::Tensor& lengths,
                                           const paddle::Tensor& transitions, const paddle::Tensor& start,
                                           const paddle::Tensor& end) {
  PD_CHECK(emissions.is_cpu() && lengths.is_cpu() && transitions.is_cpu() && start.is_cpu() && end.is_cpu(),
           "ernie_res_crf_viterbi: expected CPU tensors");
  const auto& shape = emissions.shape();
  PD_CHECK(shape.size() == 3, "ernie_res_crf_viterbi: expected emissions [B, T, L], got rank ", shape.size());
  const int64_t batch_size = shape[0], seq_len = shape[1], num_labels = shape[2];
  PD_CHECK(batch_size >= 1 && seq_len >= 1 && num_labels >= 1, "ernie_res_crf_viterbi: empty emissions");
  PD_CHECK(lengths.dtype() == paddle::DataType::INT64 && lengths.numel() == batch_size,
           "ernie_res_crf_viterbi: expected int64 lengths [B]");
  PD_CHECK(transitions.numel() == num_labels * num_labels && start.numel() == num_labels &&
               end.numel() == num_labels,
           "ernie_res_crf_viterbi: expected transitions [L, L], start [L] and end [L]");
  PD_CHECK(transitions.dtype() == emissions.dtype() && start.dtype() == emissions.dtype() &&
               end.dtype() == emissions.dtype(),
           "ernie_res_crf_viterbi: expected the parameters in the emissions' dtype");
  const int64_t* length = lengths.data<int64_t>();
  for (int64_t b = 0; b < batch_size; ++b) {
    PD_CHECK(length[b] >= 1 && length[b] <= seq_len, "ernie_res_crf_viterbi: expected lengths in [1, ",
             seq_len, "], got ", length[b], " in row ", b);
  }
  auto scores = paddle::empty({batch_size}, emissions.dtype(), paddle::CPUPlace());
  auto paths = paddle::empty({batch_size, seq_len}, paddle::DataType::INT64, paddle::CPUPlace());
  PD_DISPATCH_FLOATING_TYPES(emissions.type(), "ViterbiKernel", ([&] {
                               ViterbiKernel<data_t>(emissions.data<data_t>(), length,
                                                     transitions.data<data_t>(), start.data<data_t>(),
                                                     end.data<data_t>(), batch_size, seq_len, num_labels,
                                                     scores.data<data_t>(), paths.data<int64_t>());
                             }));
  return {scores, paths};
}

std::vector<std::vector<int64_t>> ViterbiInferShape(const std::vector<int64_t>& emissions,
                                                    const std::vector<int64_t>& lengths,
                                                    const std::vector<int64_t>& transitions,
                                                    const std::vector<int64_t>& start,
                                                    const std::vector<int64_t>& end) {
  return {{emissions[0]}, {emissions[0], emissions[1]}};
}

std::vector<paddle::DataType> ViterbiInferDtype(const paddle::DataType& emissions, const paddle::DataType& lengths,
                                                const paddle::DataType& transitions,
                                                const paddle::DataType& start, const paddle::DataType& end) {
  return {emissions, paddle::DataType::INT64};
}

PD_BUILD_OP(ernie_res_crf_viterbi)
    .Inputs({"Emissions", "Lengths", "Transitions", "Start", "End"})
    .Outputs({"Scores", "Paths"})
    .SetKernelFn(PD_KERNEL(ViterbiForward))
    .SetInferShapeFn(PD_INFER_SHAPE(ViterbiInferShape))
    .SetInferDtypeFn(PD_INFER_DTYPE(ViterbiInferDtype));
