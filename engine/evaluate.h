// Evaluation and timing of a built Net: the engines behind `banyan test` and
// `banyan time` (and the solver's test passes).
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "engine/core/status.h"
#include "engine/net.h"

namespace banyan {

// Mean over `batches` forward passes of every scalar-per-element output,
// in output order: (name, mean of the output's elements averaged over batches).
// Sets the worker's step (phase TEST, iteration = batch index, sample_base).
Status evaluate_net(Net& net, int batches, std::vector<std::pair<std::string, float>>* means);

struct LayerTiming {
  std::string name;
  std::string type;
  double forward_ms = 0.0;   // mean per iteration
  double backward_ms = 0.0;  // mean per iteration
};

struct NetTiming {
  std::vector<LayerTiming> layers;
  double forward_ms = 0.0;  // mean per iteration, all layers
  double backward_ms = 0.0;
  double iteration_ms = 0.0;  // forward + backward
  int64_t batch_size = 0;
};

// Turns every Data layer of `config` into an Input layer with the shapes the
// Data layer would produce: (batch, channels, crop, crop) and (batch), so a
// net can be timed without its LMDB.  Needs crop_size (or `size` > 0).
Status use_synthetic_inputs(NetConfig* config, int channels, int size);
// Fills every Input layer's first top with N(0, 1) and its second top (the
// labels) with integers in [0, C), C the fewest classes (dim 1 of the scores)
// of any SoftmaxWithLoss or Accuracy layer; 10 when there is none.
Status fill_synthetic_inputs(Net& net, uint64_t seed);

// Floating-point operations of one training iteration (forward + backward)
// of the net's Convolution and InnerProduct layers, the work that matters
// for throughput, counting a multiply-add as 2: forward 2 x MACs; backward
// the same for the weight gradient and again for the input gradient where
// the bottom takes one (not for a first layer reading the data).  Other
// layers are memory-bound and not counted.
double training_flops(const Net& net);

// Runs `warmup` then `iterations` forward+backward passes layer by layer and
// reports per-layer wall time (host clock; the CPU path is synchronous).
Status time_net(Net& net, int iterations, int warmup, NetTiming* out);

}  // namespace banyan
