// GEMM micro benchmark: GFLOP/s of tt::kernels::gemm per shape and thread
// count, and the same as a fraction of the measured FMA peak.
//   bench_gemm [--f64] [--cpu] [--threads 1,2] [--reps N] [M,K,N[,ta,tb] ...]
// Prints the median of the repeats; the machine is often shared, so rerun.
// --cpu times with process CPU time / threads instead of wall time: less
// disturbed by other processes on a shared machine (for tuning).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "../../csrc/core/cpu.h"
#include "../../csrc/core/parallel.h"
#include "../../csrc/kernels/gemm.h"

namespace {

struct Shape {
  int64_t M, K, N;
  bool ta, tb;
};

std::vector<Shape> default_shapes() {
  std::vector<Shape> s;
  for (int64_t n : {64, 128, 256, 512, 1024, 2048}) s.push_back({n, n, n, false, false});
  s.push_back({32, 784, 64, false, false});
  s.push_back({128, 784, 64, false, false});
  s.push_back({32, 64, 10, false, false});
  s.push_back({64, 3136, 128, false, false});
  s.push_back({6272, 288, 64, false, false});
  s.push_back({784, 128, 64, true, false});  // dW = x^T dy
  s.push_back({128, 64, 784, false, true});  // dx = dy W^T
  return s;
}

bool g_cpu_time = false;

double now() {
  if (!g_cpu_time) return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec)) / tt::num_threads();
}

struct Rate {
  double median, best;
};

template <typename T>
Rate bench(const Shape& s, int reps) {
  const int64_t M = s.M, N = s.N, K = s.K;
  std::vector<T> A(size_t(M * K)), B(size_t(K * N)), C(size_t(M * N));
  std::mt19937 rng(1);
  std::uniform_real_distribution<double> u(-1, 1);
  for (auto& x : A) x = T(u(rng));
  for (auto& x : B) x = T(u(rng));
  const int64_t lda = s.ta ? M : K, ldb = s.tb ? K : N;
  auto run = [&] {
    tt::kernels::gemm<T>(s.ta, s.tb, M, N, K, T(1), A.data(), lda, B.data(), ldb, T(0), C.data(), N);
  };
  const double flops = 2.0 * double(M) * double(N) * double(K);
  // Enough calls per repeat for ~10 ms.
  run();
  double t0 = now();
  run();
  const double one = now() - t0;
  const int64_t calls = std::max<int64_t>(1, int64_t(0.01 / std::max(one, 1e-7)));
  std::vector<double> rates;
  for (int r = 0; r < reps; ++r) {
    t0 = now();
    for (int64_t c = 0; c < calls; ++c) run();
    const double dt = now() - t0;
    rates.push_back(flops * double(calls) / dt * 1e-9);
  }
  std::sort(rates.begin(), rates.end());
  return {rates[rates.size() / 2], rates.back()};
}

}  // namespace

int main(int argc, char** argv) {
  bool f64 = false;
  int reps = 21;
  std::vector<int> threads = {1, 2};
  std::vector<Shape> shapes;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--f64")) f64 = true;
    else if (!std::strcmp(argv[i], "--cpu")) g_cpu_time = true;
    else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--threads") && i + 1 < argc) {
      threads.clear();
      for (char* t = std::strtok(argv[++i], ","); t; t = std::strtok(nullptr, ",")) threads.push_back(std::atoi(t));
    } else {
      Shape s{0, 0, 0, false, false};
      int ta = 0, tb = 0;
      if (std::sscanf(argv[i], "%ld,%ld,%ld,%d,%d", &s.M, &s.K, &s.N, &ta, &tb) < 3) {
        std::fprintf(stderr, "bad shape %s (want M,K,N[,ta,tb])\n", argv[i]);
        return 2;
      }
      s.ta = ta, s.tb = tb;
      shapes.push_back(s);
    }
  }
  if (shapes.empty()) shapes = default_shapes();
  std::printf("isa %s, %s, median of %d repeats (%s time)\n", tt::isa_name(tt::isa()), f64 ? "float64" : "float32",
              reps, g_cpu_time ? "cpu" : "wall");
  for (int t : threads) {
    tt::set_num_threads(t);
    const double peak = tt::kernels::fma_peak_gflops(f64), held = tt::kernels::fma_peak_gflops(f64, true);
    std::printf("\nthreads %d: FMA peak %.1f GFLOP/s (held under continuous load: %.1f)\n%-26s %10s %8s %10s %8s\n",
                t, peak, held, "M,K,N (op)", "GFLOP/s", "% peak", "best", "% peak");
    for (const Shape& s : shapes) {
      const Rate g = f64 ? bench<double>(s, reps) : bench<float>(s, reps);
      char name[64];
      std::snprintf(name, sizeof name, "%ld,%ld,%ld (%s)", s.M, s.K, s.N,
                    s.ta ? (s.tb ? "AtBt" : "AtB") : (s.tb ? "ABt" : "AB"));
      std::printf("%-26s %10.1f %7.1f%% %10.1f %7.1f%%\n", name, g.median, 100.0 * g.median / peak, g.best,
                  100.0 * g.best / peak);
      std::fflush(stdout);
    }
  }
  tt::set_num_threads(0);
}
