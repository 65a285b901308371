// conv2d micro benchmark: forward, fused backward and its parts for the
// issue's shapes (NHWC, 3x3, SAME, stride 1, float32), plus, for the GEMM
// strategy, its GEMM calls and its im2col/col2im passes timed alone, so that
// conv time = GEMM time + own overhead can be predicted for any GEMM.
//   scripts/dev-build.sh -DTINYTF_BUILD_BENCH=ON
//   build/dev/bench/cpp/bench_conv [threads] [seconds per measurement]
// All measurements of a shape run interleaved; prints min and median wall
// time, FLOP rates at the min. An FMA probe gives the machine's peak so
// every rate can be read as a fraction of it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

#include "../../csrc/core/cpu.h"
#include "../../csrc/core/parallel.h"
#include "../../csrc/kernels/conv.h"
#include "../../csrc/kernels/conv_kernels.h"
#include "../../csrc/kernels/gemm.h"

using namespace tt;
using namespace tt::kernels;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

struct Item {
  const char* name;
  double flop;  // for the GFLOP/s column; 0 for none
  std::function<void()> fn;
  std::vector<double> t;
};

// Runs the items round robin until each has `budget` seconds of samples (at
// least 5): under a fluctuating machine load all see the same conditions.
// Reports min and median; rates use the min.
void measure(std::vector<Item>& items, double budget, double peak) {
  for (Item& it : items) it.fn();  // warm up (caches, allocator)
  const double start = now();
  while (items[0].t.size() < 5 || (now() - start < budget * double(items.size()) && items[0].t.size() < 1000))
    for (Item& it : items) {
      const double t0 = now();
      it.fn();
      it.t.push_back(now() - t0);
    }
  for (Item& it : items) {
    std::sort(it.t.begin(), it.t.end());
    const double mn = it.t.front(), med = it.t[it.t.size() / 2];
    std::printf("  %-36s %8.3f / %8.3f ms", it.name, mn * 1e3, med * 1e3);
    if (it.flop > 0)
      std::printf("  %7.1f GF  %5.1f%%pk", it.flop / mn * 1e-9, peak > 0 ? 100 * it.flop / mn * 1e-9 / peak : 0.0);
    std::printf("\n");
  }
}

Tensor randn(const Shape& s) {
  Tensor t = Tensor::empty(s, DType::f32);
  float* p = t.data<float>();
  uint32_t x = 12345;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    p[i] = float(int32_t(x >> 8) % 2000) / 1000.0f - 1.0f;
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const double budget = argc > 2 ? std::atof(argv[2]) : 0.5;
  set_num_threads(threads);
  const double peak = fma_peak_gflops(false);
  std::printf("threads %d, isa %s, fp32 FMA peak %.0f GFLOP/s on %d threads\n", threads, isa_name(isa()), peak,
              threads);
  std::printf("times in ms as min / median of interleaved runs; GF = GFLOP/s at the min; %%pk = fraction of the "
              "%d-thread peak\n\n", threads);
  struct S {
    int64_t N, H, W, C, O, k;
  };
  for (const S& s : {S{32, 28, 28, 1, 32, 3}, S{32, 14, 14, 32, 64, 3}, S{64, 32, 32, 3, 32, 3},
                     S{64, 16, 16, 64, 128, 3}}) {
    Padding same;
    same.kind = Padding::same;
    const Hw one{1, 1};
    Tensor x = randn({s.N, s.H, s.W, s.C}), w = randn({s.k, s.k, s.C, s.O}), b = randn({s.O});
    Tensor dy = randn({s.N, s.H, s.W, s.O});
    Tensor y = conv2d(x, w, one, one, same, &b, Act::none);
    const ConvGeom g = conv_geometry("bench", x.shape, w.shape, one, one, same);
    const double flop = 2.0 * double(g.pixels()) * double(g.K()) * double(g.O);
    const int wino = conv_winograd_tile(g);
    const bool gemm_strategy = !conv_uses_direct(g) && !wino;
    std::printf("(N,H,W,Cin,Cout,k) = (%lld,%lld,%lld,%lld,%lld,%lld)  forward: %s, %.1f MFLOP per pass\n",
                (long long)s.N, (long long)s.H, (long long)s.W, (long long)s.C, (long long)s.O, (long long)s.k,
                conv_uses_direct(g) ? "direct" : wino == 4 ? "Winograd F(4x4, 3x3)" : wino ? "Winograd F(2x2, 3x3)"
                                                                                         : "GEMM", flop * 1e-6);
    std::vector<Item> items;
    items.push_back({"forward", flop, [&] { conv2d(x, w, one, one, same, &b, Act::none); }, {}});
    items.push_back({"backward (dx, dw, db)", 2 * flop,
                     [&] { conv2d_backward(x, w, y, dy, one, one, same, Act::none, true, true); }, {}});
    items.push_back({"  backward filter (dw)", flop,
                     [&] { conv2d_backward_filter(x, dy, w.shape, one, one, same); }, {}});
    items.push_back({"  backward input (dx)", flop, [&] { conv2d_backward_input(dy, w, x.shape, one, one, same); }, {}});
    // The GEMM strategy's parts alone: its GEMM calls on blocks already in
    // im2col form, and its own im2col / col2im passes.
    const ConvBlocking bl = conv_blocking(g, sizeof(float));
    const int64_t K = g.K(), O = g.O, M = bl.rows;
    Tensor A = randn({M, K}), G = randn({M, O}), dx = randn(x.shape);
    // One output buffer per group, as the real code has (a group's blocks run on one thread).
    const int64_t csize = std::max({M * O, K * O, M * K});
    Tensor Cb = randn({bl.groups, csize});
    const float* Ap = A.data<float>();
    const float* Gp = G.data<float>();
    const float* wp = w.data<float>();
    const float* bp = b.data<float>();
    auto blocks = [&](const std::function<void(float*, int64_t, int64_t)>& call) {
      parallel_for(0, bl.blocks, 1, [&](int64_t b0, int64_t b1) {
        for (int64_t i = b0; i < b1; ++i)
          call(Cb.data<float>() + i * bl.groups / bl.blocks * csize, i * M, std::min(g.pixels(), (i + 1) * M));
      });
    };
    const auto& kern = cpu_best_isa() == Isa::avx512 ? convk::kernels_avx512<float>()
                       : cpu_best_isa() == Isa::avx2 ? convk::kernels_avx2<float>()
                                                     : convk::kernels_portable<float>();
    if (gemm_strategy) {
      items.push_back({"GEMM  y = A W + b     (M,N,K)", flop, [&] {
        blocks([&](float* C, int64_t, int64_t) {
          gemm<float>(false, false, M, O, K, 1.f, Ap, K, wp, O, 0.f, C, O, bp, Act::none);
        });
      }, {}});
      items.push_back({"GEMM  dw += A^T G     (K,N,M)", flop, [&] {
        blocks([&](float* C, int64_t, int64_t) { gemm<float>(true, false, K, O, M, 1.f, Ap, K, Gp, O, 1.f, C, O); });
      }, {}});
      items.push_back({"GEMM  dcol = G W^T    (M,K,N)", flop, [&] {
        blocks([&](float* C, int64_t, int64_t) { gemm<float>(false, true, M, K, O, 1.f, Gp, O, wp, O, 0.f, C, K); });
      }, {}});
      items.push_back({"im2col (all blocks)", 0, [&] {
        blocks([&](float* C, int64_t p0, int64_t p1) { kern.im2col(g, x.data<float>(), p0, p1, C); });
      }, {}});
      items.push_back({"col2im_add (all blocks)", 0, [&] {
        blocks([&](float* C, int64_t p0, int64_t p1) { kern.col2im_add(g, C, p0, p1, dx.data<float>()); });
      }, {}});
      std::printf("  GEMM strategy: %lld blocks of %lld rows, %lld groups; GEMM and im2col timed alone below\n",
                  (long long)bl.blocks, (long long)M, (long long)bl.groups);
    }
    measure(items, budget, peak);
    const double fwd = items[0].t.front(), bwd = items[1].t.front();
    std::printf("  %-36s %8.3f ms             %7.1f GF  %5.1f%%pk\n", "forward + backward", (fwd + bwd) * 1e3,
                3 * flop / (fwd + bwd) * 1e-9, peak > 0 ? 100 * 3 * flop / (fwd + bwd) * 1e-9 / peak : 0.0);
    if (gemm_strategy) {
      // Everything but the GEMM calls: what the conv adds on top of whatever GEMM it runs on.
      const double gemm_all = items[4].t.front() + items[5].t.front() + items[6].t.front();
      std::printf("  %-36s %8.3f ms  (%.0f%% of forward + backward)\n", "own overhead (fwd+bwd - GEMM calls)",
                  (fwd + bwd - gemm_all) * 1e3, 100 * (fwd + bwd - gemm_all) / (fwd + bwd));
    }
    std::printf("\n");
  }
  return 0;
}
