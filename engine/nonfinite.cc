// Scanning a net for the first non-finite value of a step (nonfinite.h).
#include "engine/nonfinite.h"

#include <cmath>
#include <vector>

namespace banyan {
namespace {

// The first non-finite element of `blob`'s data or diff: its index, or -1.
Status first_bad(const Blob& blob, bool diff, int64_t* index, float* value) {
  *index = -1;
  if (blob.count() == 0 || (diff && blob.raw_diff() == nullptr)) return Status::success();
  std::vector<float> host;
  BANYAN_RETURN_IF_ERROR(blob_to_host(blob, diff, &host));
  for (size_t i = 0; i < host.size(); ++i) {
    if (!std::isfinite(host[i])) {
      *index = static_cast<int64_t>(i);
      *value = host[i];
      return Status::success();
    }
  }
  return Status::success();
}

std::string describe(float value, int64_t index, int64_t count) {
  return std::string(std::isnan(value) ? "NaN"
                     : value > 0       ? "+inf"
                                       : "-inf") +
         " at element " + std::to_string(index) + " of " + std::to_string(count);
}

std::string layer_name(const Layer& layer) {
  return "layer '" + layer.name() + "' (" + layer.type() + ")";
}

}  // namespace

bool NonFinite::before(const NonFinite& other) const {
  if (!found || !other.found) return found;
  if (stage != other.stage) return stage < other.stage;
  // Forward order for values and outputs, backward order for gradients.
  return stage == 2 ? layer > other.layer : layer < other.layer;
}

Status find_first_nonfinite(const Net& net, NonFinite* out) {
  *out = NonFinite();
  int64_t index = -1;
  float value = 0.0f;
  auto found = [&](int stage, int layer, const std::string& what, const Blob& blob) {
    out->found = true;
    out->stage = stage;
    out->layer = layer;
    out->what = what + ": " + describe(value, index, blob.count());
  };
  for (int i = 0; i < net.num_layers(); ++i) {
    const Layer& l = net.layer(i);
    for (size_t p = 0; p < l.params().size(); ++p) {
      BANYAN_RETURN_IF_ERROR(first_bad(*l.params()[p].blob, false, &index, &value));
      if (index >= 0) {
        found(0, i, "parameter " + std::to_string(p) + " of " + layer_name(l) + " already held one",
              *l.params()[p].blob);
        return Status::success();
      }
    }
  }
  for (int i = 0; i < net.num_layers(); ++i) {
    const std::vector<Blob*>& tops = net.layer_tops(i);
    for (size_t t = 0; t < tops.size(); ++t) {
      BANYAN_RETURN_IF_ERROR(first_bad(*tops[t], false, &index, &value));
      if (index >= 0) {
        found(1, i, "output '" + tops[t]->name() + "' of " + layer_name(net.layer(i)), *tops[t]);
        return Status::success();
      }
    }
  }
  for (int i = net.num_layers() - 1; i >= 0; --i) {
    if (!net.layer_needs_backward(i)) continue;
    const Layer& l = net.layer(i);
    const std::vector<Blob*>& bottoms = net.layer_bottoms(i);
    for (size_t b = 0; b < bottoms.size(); ++b) {
      if (!net.bottom_gets_gradient(i, static_cast<int>(b))) continue;
      BANYAN_RETURN_IF_ERROR(first_bad(*bottoms[b], true, &index, &value));
      if (index >= 0) {
        found(2, i, "gradient of input '" + bottoms[b]->name() + "' of " + layer_name(l),
              *bottoms[b]);
        return Status::success();
      }
    }
    for (size_t p = 0; p < l.params().size(); ++p) {
      BANYAN_RETURN_IF_ERROR(first_bad(*l.params()[p].blob, true, &index, &value));
      if (index >= 0) {
        found(2, i, "gradient of parameter " + std::to_string(p) + " of " + layer_name(l),
              *l.params()[p].blob);
        return Status::success();
      }
    }
  }
  return Status::success();
}

}  // namespace banyan
