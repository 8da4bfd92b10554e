// bench_cuda: training and inference throughput of registry models on the cuDNN backend,
// the counterpart of bench_<model> (oneDNN) for a GPU, and of bench/pytorch_gpu.py (the
// PyTorch peer on the same GPU; run both in one session to report a ratio).
//
// Usage: bench_cuda [--models resnet20,resnet18_cifar] [--batch 128,256] [--steps 50]
//                   [--min-time 2] [--tf32] [--bf16] [--no-graph] [--json]
// Training: Executable::train_step (forward, loss, backward, SGD update on the device; a
// CUDA Graph replay from the second step unless --no-graph), timed over at least --steps
// steps and --min-time seconds after 5 warm-up steps; each step ends with the stream
// synchronised and the loss read by the host (what a training loop that prints its loss
// does; the peer synchronises only around its timed loop). Inference: forward() in
// inference mode, host images in and host logits out included. fp32 (TF32 with --tf32), or
// bf16 mixed precision with --bf16 (Options::bf16: bf16 activations on tensor cores, fp32
// master weights, as PyTorch's bf16 autocast).
// Figures: images/s, and the analytic training TFLOP/s = 3 x 2 x MACs x images/s (the
// backward counted as twice the forward).
#include <archetype/architectures/registry.hpp>
#include <archetype/backends/cudnn/executable.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using namespace archetype;

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

/// PyTorch's default bounds: weights and biases U(±1/sqrt(fan_in)), BatchNorm gamma 1.
void initialise(const codegen::ProgramView& program, std::span<float> params) {
  std::mt19937_64 rng(1);
  for (const codegen::Op& op : program.ops) {
    const LayerRow& L = op.layer;
    if (L.op == LayerKind::conv || L.op == LayerKind::linear) {
      const std::int64_t fan_in = L.op == LayerKind::conv ? std::int64_t{L.in.c / L.groups} * L.kernel_h * L.kernel_w
                                                          : L.in.elements();
      std::uniform_real_distribution<float> u(-1.f / std::sqrt(float(fan_in)), 1.f / std::sqrt(float(fan_in)));
      for (std::int64_t i = 0; i < L.params; ++i) params[std::size_t(op.param_offset + i)] = u(rng);
    } else if (L.op == LayerKind::batch_norm) {
      for (int c = 0; c < L.in.c; ++c) params[std::size_t(op.param_offset + c)] = 1.f;
    }
  }
}

/// Images per second of `step` (one batch each): 5 warm-up calls, then at least `steps`
/// calls and `min_time` seconds.
double images_per_second(const std::function<void()>& step, int batch, int steps, double min_time) {
  for (int i = 0; i < 5; ++i) step();
  const auto start = std::chrono::steady_clock::now();
  int done = 0;
  double seconds = 0;
  while (done < steps || seconds < min_time) {
    step();
    ++done;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return double(batch) * done / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  std::string models = "lenet5,resnet20,resnet18_cifar,vgg16_cifar,resnet50";
  std::string batches = "128,256";
  int steps = 50;
  double min_time = 2.0;
  bool tf32 = false, bf16 = false, graph = true, json = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "bench_cuda: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--models") models = value();
    else if (a == "--batch") batches = value();
    else if (a == "--steps") steps = std::atoi(value().c_str());
    else if (a == "--min-time") min_time = std::atof(value().c_str());
    else if (a == "--tf32") tf32 = true;
    else if (a == "--bf16") bf16 = true;
    else if (a == "--no-graph") graph = false;
    else if (a == "--json") json = true;
    else {
      std::fprintf(stderr,
                   "usage: bench_cuda [--models a,b] [--batch 128,256] [--steps N] [--min-time S] [--tf32] "
                   "[--bf16] [--no-graph] [--json]\n");
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (const std::string reason = cudnn::unavailable_reason(); !reason.empty()) {
    std::fprintf(stderr, "bench_cuda: %s\n", reason.c_str());
    return 77;
  }
  int status = 0;
  for (const std::string& name : split(models)) {
    const ModelEntry* model = find_model(name);
    if (model == nullptr) {
      std::fprintf(stderr, "bench_cuda: no model %s (archetype list)\n", name.c_str());
      status = 2;
      continue;
    }
    const codegen::ProgramView program = model->native.program;
    const int classes = model->native.output.c;
    for (const std::string& b : split(batches)) {
      const int batch = std::atoi(b.c_str());
      try {
        cudnn::Options options;
        options.tf32 = tf32;
        options.precision = bf16 ? codegen::Precision::bf16 : codegen::Precision::f32;
        options.cuda_graph = graph;
        std::vector<float> images(std::size_t(batch * program.tensors[std::size_t(program.input)].shape.elements()));
        std::mt19937_64 rng(2);
        std::normal_distribution<float> normal;
        for (float& v : images) v = normal(rng);
        std::vector<int> labels(static_cast<std::size_t>(batch));
        for (int n = 0; n < batch; ++n) labels[std::size_t(n)] = n % classes;

        const auto built = std::chrono::steady_clock::now();
        cudnn::Executable train(program, batch, cudnn::Mode::training, options);
        const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - built).count();
        initialise(program, train.parameters());
        const double train_ips = images_per_second([&] { train.train_step(images, labels, 0.01); }, batch, steps, min_time);
        const auto memory = train.memory();
        cudnn::Executable infer(program, batch, cudnn::Mode::inference, options);
        initialise(program, infer.parameters());
        const double infer_ips = images_per_second([&] { infer.forward(images); }, batch, steps, min_time);
        const double tflops = 6.0 * double(model->native.macs) * train_ips / 1e12;
        if (json) {
          std::printf("{\"backend\": \"cudnn\", \"model\": \"%s\", \"batch\": %d, \"tf32\": %s, \"bf16\": %s, "
                      "\"cuda_graph\": %s, "
                      "\"train_img_s\": %.1f, \"infer_img_s\": %.1f, \"train_tflops\": %.3f, \"setup_s\": %.2f, "
                      "\"arena_mb\": %.1f, \"workspace_mb\": %.1f, \"device_mb\": %.1f}\n",
                      name.c_str(), batch, tf32 ? "true" : "false", bf16 ? "true" : "false", graph ? "true" : "false",
                      train_ips, infer_ips,
                      tflops, setup_s, double(memory.arena) / 1048576, double(memory.workspace) / 1048576,
                      double(memory.total) / 1048576);
        } else {
          std::printf("%-16s batch=%4d %s%s train=%10.1f img/s (%.2f TFLOP/s analytic) infer=%10.1f img/s "
                      "setup=%.1f s device=%.0f MB\n",
                      name.c_str(), batch, bf16 ? "bf16" : tf32 ? "tf32" : "fp32", graph ? " graph" : " eager", train_ips, tflops,
                      infer_ips, setup_s, double(memory.total) / 1048576);
        }
        std::fflush(stdout);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_cuda: %s at batch %d: %s\n", name.c_str(), batch, e.what());
        status = 1;
      }
    }
  }
  return status;
}
