// Net construction: phase filter, graph of blob versions, Split insertion,
// partitioning (Transfer layers where a blob crosses partitions), layer
// setup, backward analysis, memory planning, parameter binding.  Running
// the built net is engine/net_run.cc.
#include "engine/net.h"

#include <glog/logging.h>

#include <algorithm>
#include <map>
#include <set>

#ifdef BANYAN_WITH_CUDA
#include "cuda/elementwise.h"
#include "cuda/reduce.h"
#include "engine/core/gpu_resources.h"
#endif
#include "engine/core/bf16.h"
#include "engine/core/random.h"
#include "engine/net_device_state.h"
#include "layers/filler.h"
#include "layers/registry.h"
#include "layers/transfer.h"

namespace banyan {

namespace {

constexpr int64_t kAlignFloats = 16;  // 64 bytes
int64_t round_up(int64_t n) { return (n + kAlignFloats - 1) / kAlignFloats * kAlignFloats; }

// What a node of the graph is: a configured layer or one end of a transfer.
enum class Role { kLayer, kSend, kRecv };

// One layer of the graph after phase filtering and Split insertion.
struct Node {
  LayerConfig config;
  Role role = Role::kLayer;
  TransferChannel* channel = nullptr;  // kSend, kRecv
  std::vector<int> bottoms;            // version ids
  std::vector<int> tops;               // version ids
  std::vector<int> in_place_of;        // per top: index of the bottom it overwrites, or -1
};

// One value of a named blob: written by `producer`, read by `consumers`.
struct Version {
  std::string name;
  int producer = -1;
  std::vector<std::pair<int, int>> consumers;  // (node, bottom index)
  int storage = -1;
  float loss_weight = 0.0f;
  // A version that other layers read and that also carries a loss weight
  // hands the weight to this extra top of its Split (insert_splits).
  int loss_top = -1;
};

std::string where(const LayerConfig& c) {
  return "layer '" + c.name + "'" + (c.location.line > 0 ? " at " + c.location.to_string() : "");
}

}  // namespace

std::string describe(const NetState& state) {
  std::string s = phase_name(state.phase);
  if (state.level == 0 && state.stages.empty()) return s;
  s += " (level " + std::to_string(state.level);
  for (size_t i = 0; i < state.stages.size(); ++i) {
    s += (i == 0 ? ", stages " : ", ") + state.stages[i];
  }
  return s + ")";
}

class NetBuilder {
 public:
  NetBuilder(const NetConfig& config, const NetBuildOptions& options, WorkerContext* ctx, Net* net)
      : config_(config), options_(options), ctx_(ctx), net_(net) {}

  Status build() {
    net_->name_ = config_.name;
    net_->phase_ = options_.phase;
    net_->ctx_ = ctx_;
    CHECK_GE(options_.loss_slots, 1) << "NetBuildOptions::loss_slots";
    net_->loss_slots_ = options_.loss_slots;
    net_->precision_ = options_.precision;
    if (ctx_->device().is_cuda() && !ctx_->has_gpu()) {
      return Status::invalid_argument("net '" + config_.name + "' on " +
                                      ctx_->device().to_string() +
                                      ": the worker's device is not set up (init_device)");
    }
    BANYAN_RETURN_IF_ERROR(parse_graph());
    insert_splits();
    BANYAN_RETURN_IF_ERROR(partition_nodes());
    BANYAN_RETURN_IF_ERROR(create_and_setup_layers());
    analyze_backward();
    if (ctx_->device().is_cuda()) {
      for (auto& layer : net_->layers_) {
        BANYAN_RETURN_IF_ERROR(layer->prepare_device(*ctx_).with_context(
            "layer '" + layer->name() + "' (" + layer->type() + ") on " +
            ctx_->device().to_string()));
      }
    }
    BANYAN_RETURN_IF_ERROR(plan_activations());
    BANYAN_RETURN_IF_ERROR(bind_params());
    for (auto& layer : net_->layers_) {
      BANYAN_RETURN_IF_ERROR(layer->on_params_bound());
    }
    return allocate_device_state();
  }

 private:
  Status parse_graph() {
    std::map<std::string, int> current;  // name -> latest version
    const NetState state = config_.state_for(options_.phase, options_.state);
    std::map<std::string, const LayerConfig*> names;
    for (const LayerConfig& c : config_.layers) {
      if (!c.in_state(state)) continue;
      if (type_has_params(c.type)) {
        auto [it, fresh] = names.emplace(c.name, &c);
        if (!fresh) {
          return Status::invalid_argument(where(c) + ": duplicate layer name '" + c.name +
                                          "' (also at " + it->second->location.to_string() +
                                          ") in the " + describe(state) +
                                          " net; weights are matched by layer name");
        }
      }
      const int id = static_cast<int>(nodes_.size());
      Node node;
      node.config = c;
      for (size_t b = 0; b < c.bottom.size(); ++b) {
        auto it = current.find(c.bottom[b]);
        if (it == current.end()) {
          return Status::invalid_argument(where(c) + ": bottom '" + c.bottom[b] +
                                          "' is not produced by an earlier layer of the " +
                                          phase_name(options_.phase) + " net");
        }
        node.bottoms.push_back(it->second);
        versions_[it->second].consumers.push_back({id, static_cast<int>(b)});
      }
      for (const std::string& t : c.top) {
        auto bit = std::find(c.bottom.begin(), c.bottom.end(), t);
        int in_place = bit == c.bottom.end() ? -1 : static_cast<int>(bit - c.bottom.begin());
        if (in_place < 0 && current.count(t) && versions_[current[t]].producer == id) {
          return Status::invalid_argument(where(c) + ": top '" + t + "' is listed twice");
        }
        if (in_place < 0 && current.count(t)) {
          return Status::invalid_argument(
              where(c) + ": top '" + t + "' is already produced by layer '" +
              nodes_[versions_[current[t]].producer].config.name +
              "'; only an in-place layer (top equal to its bottom) may write it again");
        }
        Version v;
        v.name = t;
        v.producer = id;
        versions_.push_back(v);
        node.tops.push_back(static_cast<int>(versions_.size()) - 1);
        node.in_place_of.push_back(in_place);
        current[t] = node.tops.back();
      }
      nodes_.push_back(std::move(node));
    }
    if (nodes_.empty()) {
      return Status::invalid_argument(config_.source_file + ": net '" + config_.name +
                                      "' has no layers in phase " + phase_name(options_.phase));
    }
    final_names_ = current;
    return Status::success();
  }

  // Whether the producer of version v gives it a loss weight: its
  // loss_weight for that top when the config lists them, else top 0 of a
  // *Loss layer (as the layers' default_loss_weight has it).
  bool carries_loss(size_t v) const {
    if (versions_[v].producer < 0) return false;
    const Node& p = nodes_[versions_[v].producer];
    for (size_t t = 0; t < p.tops.size(); ++t) {
      if (p.tops[t] != static_cast<int>(v)) continue;
      const std::vector<float>& w = p.config.loss_weight;
      if (!w.empty()) return t < w.size() && w[t] != 0.0f;
      const std::string& type = p.config.type;
      return t == 0 && type.size() >= 4 && type.compare(type.size() - 4, 4, "Loss") == 0;
    }
    return false;
  }

  // A version read by k > 1 layers gets a Split layer right after its
  // producer, with k tops, one per reader.  A version that carries a loss
  // weight and is read by k >= 1 layers gets one with k + 1 tops, the last
  // (named as the version) carrying the loss: every layer overwrites its
  // bottoms' diffs, so the loss's gradient and the readers' must meet in a
  // Split, which sums them (as Caffe does).
  void insert_splits() {
    std::vector<std::vector<Node>> after(nodes_.size());
    const size_t num_versions = versions_.size();
    for (size_t v = 0; v < num_versions; ++v) {
      const bool loss = carries_loss(v);
      if (versions_[v].consumers.size() < (loss ? 1u : 2u)) continue;
      const Node& producer = nodes_[versions_[v].producer];
      Node split;
      split.config.name = versions_[v].name + "_" + producer.config.name + "_split";
      split.config.type = "Split";
      split.config.partition = producer.config.partition;
      split.config.location = producer.config.location;
      split.config.bottom = {versions_[v].name};
      split.bottoms = {static_cast<int>(v)};
      auto consumers = versions_[v].consumers;
      for (size_t k = 0; k < consumers.size(); ++k) {
        Version out;
        out.name = versions_[v].name + "_split_" + std::to_string(k);
        out.consumers = {consumers[k]};
        versions_.push_back(out);
        const int out_id = static_cast<int>(versions_.size()) - 1;
        split.config.top.push_back(out.name);
        split.tops.push_back(out_id);
        split.in_place_of.push_back(-1);
        nodes_[consumers[k].first].bottoms[consumers[k].second] = out_id;
      }
      if (loss) {
        Version out;
        out.name = versions_[v].name;
        versions_.push_back(out);
        versions_[v].loss_top = static_cast<int>(versions_.size()) - 1;
        split.config.top.push_back(out.name);
        split.tops.push_back(versions_[v].loss_top);
        split.in_place_of.push_back(-1);
      }
      versions_[v].consumers = {{-1, 0}};  // the split (index fixed below)
      after[versions_[v].producer].push_back(std::move(split));
    }
    std::vector<Node> ordered;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      ordered.push_back(std::move(nodes_[i]));
      for (Node& s : after[i]) ordered.push_back(std::move(s));
    }
    nodes_ = std::move(ordered);
    relink();
  }

  // Recomputes producers and consumers over the current node order.
  void relink() {
    for (Version& v : versions_) {
      v.consumers.clear();
      v.producer = -1;
    }
    for (size_t i = 0; i < nodes_.size(); ++i) {
      for (size_t b = 0; b < nodes_[i].bottoms.size(); ++b) {
        versions_[nodes_[i].bottoms[b]].consumers.push_back(
            {static_cast<int>(i), static_cast<int>(b)});
      }
      for (int t : nodes_[i].tops) versions_[t].producer = static_cast<int>(i);
    }
  }

  int partition_of(const Node& node) const {
    return node.config.partition % ctx_->placement().group_size;
  }

  // Model parallelism: keeps the nodes of this worker's partition, with a
  // TransferSend after a local producer for each other partition that reads
  // its version and a TransferRecv before the first local reader of a
  // version produced elsewhere.  Every worker parses the same full graph, so
  // version ids (which key the channels) agree across the group.
  Status partition_nodes() {
    const WorkerPlacement& place = ctx_->placement();
    if (place.group_size <= 1) return Status::success();
    if (options_.transfers == nullptr) {
      return Status::invalid_argument("net '" + config_.name + "': group_size " +
                                      std::to_string(place.group_size) +
                                      " needs the group's transfer hub");
    }
    const int rank = place.rank_in_group;
    std::vector<Node> kept;
    std::map<int, int> received;  // remote version -> its local copy
    for (const Node& original : nodes_) {
      if (partition_of(original) != rank) continue;
      Node node = original;
      for (int& b : node.bottoms) {
        const int from = partition_of(nodes_[versions_[b].producer]);
        if (from == rank) continue;
        auto it = received.find(b);
        if (it == received.end()) {
          kept.push_back(transfer_node(Role::kRecv, b, from, rank));
          it = received.emplace(b, kept.back().tops[0]).first;
        }
        b = it->second;
      }
      kept.push_back(node);
      for (int t : node.tops) {
        std::set<int> readers;
        for (auto [c, b] : versions_[t].consumers) readers.insert(partition_of(nodes_[c]));
        readers.erase(rank);
        for (int q : readers) kept.push_back(transfer_node(Role::kSend, t, rank, q));
      }
    }
    nodes_ = std::move(kept);
    relink();
    return Status::success();
  }

  // One end of the transfer of version `v` from partition `from` to `to`.
  Node transfer_node(Role role, int v, int from, int to) {
    Node n;
    n.role = role;
    const std::string name = versions_[v].name;
    n.channel = options_.transfers->channel(options_.transfer_scope + "/" + std::to_string(v) +
                                            "/" + std::to_string(to));
    n.config.location = nodes_[versions_[v].producer].config.location;
    if (role == Role::kSend) {
      n.config.name = name + "_send_to_" + std::to_string(to);
      n.config.type = "TransferSend";
      n.config.partition = from;
      n.config.bottom = {name};
      n.bottoms = {v};
      return n;
    }
    n.config.name = name + "_recv_from_" + std::to_string(from);
    n.config.type = "TransferRecv";
    n.config.partition = to;
    n.config.top = {name};
    Version copy;
    copy.name = name;
    versions_.push_back(copy);
    n.tops = {static_cast<int>(versions_.size()) - 1};
    n.in_place_of = {-1};
    return n;
  }

  Status make_layer(const Node& node, std::unique_ptr<Layer>* layer) {
    if (node.role == Role::kLayer) return create_layer(node.config, layer);
    if (node.role == Role::kRecv) {
      *layer = std::make_unique<TransferRecvLayer>(node.config, node.channel);
      return Status::success();
    }
    auto send = std::make_unique<TransferSendLayer>(node.config, node.channel);
    send->set_needs_grad(grad_[node.bottoms[0]]);
    *layer = std::move(send);
    return Status::success();
  }

  // Whether gradients flow out of `node` (learnable parameters, a bottom
  // that takes a gradient, or a transfer from a partition that wants one);
  // `bottom_grad` receives, per bottom, whether it takes a gradient.
  bool node_grad(const Node& node, const Layer& layer, const std::vector<bool>& needs_grad,
                 std::vector<bool>* bottom_grad) const {
    bool any = false;
    for (const LayerParam& p : layer.params()) any = any || (p.learnable && p.lr_mult != 0.0f);
    if (node.role == Role::kRecv) any = static_cast<const TransferRecvLayer&>(layer).needs_grad();
    const auto& pd = node.config.propagate_down;
    for (size_t b = 0; b < node.bottoms.size(); ++b) {
      bool g = needs_grad[node.bottoms[b]] && layer.can_propagate_down(static_cast<int>(b)) &&
               !(b < pd.size() && !pd[b]);
      bottom_grad->push_back(g);
      any = any || g;
    }
    return any;
  }

  Status create_and_setup_layers() {
    grad_.assign(versions_.size(), false);
    for (Node& node : nodes_) {
      std::unique_ptr<Layer> layer;
      BANYAN_RETURN_IF_ERROR(make_layer(node, &layer));
      std::vector<Blob*> bottom, top;
      for (int v : node.bottoms) bottom.push_back(storage_blob(versions_[v].storage));
      for (size_t t = 0; t < node.tops.size(); ++t) {
        Version& v = versions_[node.tops[t]];
        if (node.in_place_of[t] >= 0) {
          if (!layer->allows_in_place()) {
            return Status::invalid_argument(where(node.config) + ": " + node.config.type +
                                            " cannot run in place (top '" + v.name +
                                            "' equals a bottom)");
          }
          v.storage = versions_[node.bottoms[node.in_place_of[t]]].storage;
        } else {
          v.storage = static_cast<int>(net_->blobs_.size());
          net_->blobs_.push_back(std::make_unique<Blob>(v.name));
        }
        top.push_back(storage_blob(v.storage));
      }
      if (ctx_->device().is_cuda() && !layer->supports_gpu()) {
        return Status::unimplemented(where(node.config) + ": " + node.config.type +
                                     " has no GPU implementation yet; run on --devices=cpu");
      }
      layer->set_device(ctx_->device());
      layer->set_cpu_options(ctx_->cpu());
      Status s;
      if (node.config.type == "Data" && options_.data_setup_mutex != nullptr) {
        std::lock_guard<std::mutex> lock(*options_.data_setup_mutex);
        s = layer->setup(bottom, top);
      } else {
        s = layer->setup(bottom, top);
      }
      if (!s.ok()) return s;
      for (size_t t = 0; t < top.size(); ++t) {
        const DType d = layer->top_dtype(static_cast<int>(t), bottom, options_.precision);
        if (node.in_place_of[t] < 0) {
          top[t]->set_dtype(d);
        } else if (top[t]->dtype() != d) {
          return Status::invalid_argument(where(node.config) + ": runs in place on '" +
                                          top[t]->name() + "' (" + d_type_name(top[t]->dtype()) +
                                          ") but produces " + d_type_name(d));
        }
      }
      std::vector<bool> unused;
      const bool grad = node_grad(node, *layer, grad_, &unused);
      for (int t : node.tops) grad_[t] = grad;
      BANYAN_RETURN_IF_ERROR(set_loss_weights(node, *layer));
      if (net_->batch_size_ == 0 && (node.config.type == "Data" || node.config.type == "Input") &&
          !top.empty() && top[0]->num_axes() > 0) {
        net_->batch_size_ = top[0]->dim(0);
      }
      net_->layers_.push_back(std::move(layer));
      net_->bottoms_.push_back(bottom);
      net_->tops_.push_back(top);
    }
    for (const auto& [name, v] : final_names_) {
      if (versions_[v].storage < 0) continue;  // on another partition
      net_->names_.push_back({name, storage_blob(versions_[v].storage)});
    }
    for (size_t i = 0; i < versions_.size(); ++i) {
      const Version& v = versions_[i];
      if (v.consumers.empty() && v.storage >= 0) {
        net_->outputs_.push_back(
            {v.name, storage_blob(v.storage), v.loss_weight, static_cast<int>(i)});
      }
      if (v.loss_weight != 0.0f) net_->losses_.push_back({storage_blob(v.storage), v.loss_weight});
    }
    return Status::success();
  }

  Status set_loss_weights(const Node& node, const Layer& layer) {
    const auto& w = node.config.loss_weight;
    if (!w.empty() && w.size() != node.tops.size()) {
      return Status::invalid_argument(where(node.config) + ": " + std::to_string(w.size()) +
                                      " loss_weight values for " +
                                      std::to_string(node.tops.size()) + " tops");
    }
    for (size_t t = 0; t < node.tops.size(); ++t) {
      const float weight = w.empty() ? layer.default_loss_weight(static_cast<int>(t)) : w[t];
      Version& v = versions_[node.tops[t]];
      if (weight == 0.0f) continue;
      if (v.loss_top >= 0) {
        versions_[v.loss_top].loss_weight = weight;
      } else if (!v.consumers.empty()) {  // insert_splits' rule and the layer disagree
        return Status::internal(where(node.config) + ": top '" + v.name + "' has loss weight " +
                                format_value(weight) +
                                " and is read by another layer, but no Split carries the loss");
      } else {
        v.loss_weight = weight;
      }
    }
    return Status::success();
  }

  // Which layers run backward and which bottoms receive gradients, and which
  // diffs must be filled before backward (see Net::diff_fills_).
  void analyze_backward() {
    const size_t n = nodes_.size();
    std::vector<bool> needs_grad(versions_.size(), false), contributes(versions_.size(), false);
    std::vector<std::vector<bool>> bottom_grad(n);
    std::vector<bool> node_grad(n, false);
    for (size_t i = 0; i < n; ++i) {
      node_grad[i] = this->node_grad(nodes_[i], *net_->layers_[i], needs_grad, &bottom_grad[i]);
      for (int t : nodes_[i].tops) needs_grad[t] = node_grad[i];
    }
    for (size_t v = 0; v < versions_.size(); ++v) contributes[v] = versions_[v].loss_weight != 0.0f;
    net_->needs_backward_.assign(n, false);
    net_->propagate_down_.resize(n);
    for (size_t r = n; r-- > 0;) {
      bool c = false;
      for (int t : nodes_[r].tops) c = c || contributes[t];
      // The two ends of a transfer run backward exactly when gradients
      // cross it (both know that flag), whether or not a loss lies beyond.
      if (nodes_[r].role == Role::kSend) c = node_grad[r];
      if (nodes_[r].role == Role::kRecv) c = true;
      if (c) {
        for (int b : nodes_[r].bottoms) contributes[b] = true;
      }
      net_->needs_backward_[r] = c && node_grad[r];
      for (size_t b = 0; b < nodes_[r].bottoms.size(); ++b) {
        net_->propagate_down_[r].push_back(net_->needs_backward_[r] && bottom_grad[r][b]);
      }
    }
    for (size_t i = 0; i < n; ++i) {
      if (!net_->needs_backward_[i]) continue;
      for (int t : nodes_[i].tops) {
        const Version& v = versions_[t];
        bool fed = false;
        for (auto [c, b] : v.consumers) fed = fed || net_->propagate_down_[c][b];
        if (v.loss_weight != 0.0f) {
          net_->diff_fills_.push_back({storage_blob(v.storage), v.loss_weight});
        } else if (!fed) {
          net_->diff_fills_.push_back({storage_blob(v.storage), 0.0f});
        }
      }
    }
  }

  // Which storage blobs backward touches: the tops of layers that run
  // backward (their diffs are read) and the bottoms that receive gradients.
  // The others (inputs, labels, anything below the last learnable layer, a
  // whole TEST net) get no diff, so their memory is not planned.
  std::vector<bool> storages_with_diff() const {
    std::vector<bool> with_diff(net_->blobs_.size(), false);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!net_->needs_backward_[i]) continue;
      for (int t : nodes_[i].tops) with_diff[versions_[t].storage] = true;
      for (size_t b = 0; b < nodes_[i].bottoms.size(); ++b) {
        if (net_->propagate_down_[i][b]) with_diff[versions_[nodes_[i].bottoms[b]].storage] = true;
      }
    }
    return with_diff;
  }

  // Bytes of one array of `blob` in the arena, rounded up like parameters
  // (so every array starts 64-byte aligned).
  static size_t arena_bytes(const Blob& blob) {
    return static_cast<size_t>(round_up(blob.count())) * d_type_size(blob.dtype());
  }

  Status plan_activations() {
    const std::vector<bool> with_diff = storages_with_diff();
    size_t total = 0;
    for (size_t i = 0; i < net_->blobs_.size(); ++i) {
      total += (with_diff[i] ? 2 : 1) * arena_bytes(*net_->blobs_[i]);
    }
    BANYAN_RETURN_IF_ERROR(Buffer::allocate(ctx_->device(), total, &net_->activations_)
                               .with_context("activations of net '" + config_.name + "'"));
    char* p = static_cast<char*>(net_->activations_.data());
    for (size_t i = 0; i < net_->blobs_.size(); ++i) {
      const size_t c = arena_bytes(*net_->blobs_[i]);
      net_->blobs_[i]->bind_raw(p, with_diff[i] ? p + c : nullptr, ctx_->device());
      p += (with_diff[i] ? 2 : 1) * c;
    }
    net_->activation_bytes_ = total;
    // The layers' float32 shadows of bfloat16 blobs share one arena: layers
    // run one at a time (on one stream on a CUDA worker).
    size_t shadow_bytes = 0;
    for (size_t i = 0; i < net_->layers_.size(); ++i) {
      BANYAN_RETURN_IF_ERROR(
          net_->layers_[i]->plan_bf16_shadows(net_->bottoms_[i], net_->tops_[i]));
      shadow_bytes = std::max(shadow_bytes, net_->layers_[i]->bf16_shadow_bytes());
    }
    if (shadow_bytes > 0) {
      BANYAN_RETURN_IF_ERROR(Buffer::allocate(ctx_->device(), shadow_bytes, &net_->bf16_arena_)
                                 .with_context("BF16 shadows of net '" + config_.name + "'"));
      for (auto& l : net_->layers_) l->bind_bf16_shadows(net_->bf16_arena_.data());
      net_->shadow_bytes_ = shadow_bytes;
    }
    if (ctx_->device().is_cuda()) {
      for (const auto& [blob, weight] : net_->losses_) {
        if (blob->dtype() != DType::kFloat32) {
          return Status::unimplemented("net '" + config_.name + "': loss_weight on '" +
                                       blob->name() + "', a " + d_type_name(blob->dtype()) +
                                       " blob, on a CUDA worker (losses are float32 there)");
        }
      }
    }
    size_t ws = 0;
    std::string largest;
    for (auto& l : net_->layers_) {
      if (l->workspace_floats() > ws) largest = l->name();
      ws = std::max(ws, l->workspace_floats());
    }
    BANYAN_RETURN_IF_ERROR(Buffer::allocate(ctx_->device(), ws * sizeof(float), &net_->workspace_)
                               .with_context("layer workspace of net '" + config_.name +
                                             "' (largest: layer '" + largest + "')"));
    return Status::success();
  }

  Status bind_params() {
    for (auto& layer : net_->layers_) {
      for (size_t i = 0; i < layer->params().size(); ++i) {
        LayerParam& p = layer->params()[i];
        NetParam np;
        np.name = p.blob->name();
        np.layer = layer->name();
        np.index = static_cast<int>(i);
        np.blob = p.blob.get();
        np.lr_mult = p.lr_mult;
        np.decay_mult = p.decay_mult;
        np.learnable = p.learnable;
        np.offset = net_->param_count_;
        net_->param_count_ += round_up(p.blob->count());
        net_->params_.push_back(np);
      }
    }
    if (options_.share_params_from != nullptr) return share_params(*options_.share_params_from);
    const int64_t n = net_->param_count_;
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(ctx_->device(), 2 * n * sizeof(float), &net_->param_buffer_)
            .with_context("parameters of net '" + config_.name + "'"));
    net_->param_data_ = static_cast<float*>(net_->param_buffer_.data());
    net_->param_diff_ = net_->param_data_ + n;
    net_->param_bytes_ = 2 * n * sizeof(float);
    for (size_t i = 0; i < net_->params_.size(); ++i) {
      NetParam& np = net_->params_[i];
      np.master = net_->param_data_ + np.offset;
      np.blob->bind(np.master, net_->param_diff_ + np.offset, ctx_->device());
      const LayerParam& lp = find_layer_param(np);
      BANYAN_RETURN_IF_ERROR(fill_on_device(lp.filler, key_for(ctx_->seed(), np.name), np.blob)
                                 .with_context("layer '" + np.layer + "'"));
    }
    if (net_->precision_ == DType::kBFloat16) {
      // Learnable parameters compute with a BF16-rounded copy of their
      // master; statistics (BatchNorm's) stay on the master, in float32.
      BANYAN_RETURN_IF_ERROR(
          Buffer::allocate(ctx_->device(), n * sizeof(float), &net_->param_compute_)
              .with_context("parameter compute copies of net '" + config_.name + "'"));
      float* compute = static_cast<float*>(net_->param_compute_.data());
      net_->param_bytes_ += n * sizeof(float);
      for (NetParam& np : net_->params_) {
        if (np.learnable) np.blob->bind(compute + np.offset, np.blob->diff(), ctx_->device());
      }
      net_->refresh_compute_params();
    }
    return Status::success();
  }

  // Fillers run on the host; a device blob is filled through a host copy
  // (setup only), so CPU and GPU workers start from the same numbers.
  Status fill_on_device(const FillerConfig& filler, uint64_t key, Blob* blob) {
    if (blob->device().is_cpu()) return fill_param(filler, key, blob);
    Blob host(blob->name());
    host.set_shape(blob->shape());
    BANYAN_RETURN_IF_ERROR(host.allocate(Device::cpu()));
    BANYAN_RETURN_IF_ERROR(fill_param(filler, key, &host));
    return copy_to_device(host.data(), blob->count(), blob->device(), blob->data());
  }

  Status allocate_device_state() {
    net_->host_losses_.assign(net_->loss_slots_, 0.0);
    if (!ctx_->device().is_cuda()) return Status::success();
#ifdef BANYAN_WITH_CUDA
    auto st = std::make_unique<Net::DeviceState>();
    const size_t sums = std::max<size_t>(net_->losses_.size(), 1) * net_->loss_slots_;
    BANYAN_RETURN_IF_ERROR(
        Buffer::allocate(ctx_->device(), cuda::kReducePartials * sizeof(double), &st->partials));
    BANYAN_RETURN_IF_ERROR(Buffer::allocate(ctx_->device(), sums * sizeof(double), &st->sums));
    std::string error;
    if (!st->host_sums.allocate(sums * sizeof(double), &error)) {
      return Status::resource_exhausted("pinned memory for the loss of net '" + config_.name +
                                        "': " + error);
    }
    for (int k = 0; k < net_->loss_slots_; ++k) st->copied.emplace_back(ctx_->gpu().ordinal());
    net_->device_state_ = std::move(st);
#endif
    return Status::success();
  }

  Status share_params(const Net& other) {
    for (NetParam& np : net_->params_) {
      const NetParam* src = other.find_param(np.name);
      if (src == nullptr) {
        return Status::invalid_argument("layer '" + np.layer + "' of the " +
                                        phase_name(options_.phase) + " net has parameter '" +
                                        np.name + "' that the " + phase_name(other.phase()) +
                                        " net lacks");
      }
      if (src->blob->shape() != np.blob->shape()) {
        return Status::invalid_argument(
            "parameter '" + np.name + "' has shape " + np.blob->shape().to_string() + " in the " +
            phase_name(options_.phase) + " net but " + src->blob->shape().to_string() + " in the " +
            phase_name(other.phase()) + " net");
      }
      np.blob->bind(src->blob->data(), src->blob->diff(), ctx_->device());
      np.master = src->master;
      np.offset = src->offset;
    }
    net_->param_data_ = other.param_data();
    net_->param_diff_ = other.param_diff();
    net_->param_count_ = other.param_count();
    return Status::success();
  }

  const LayerParam& find_layer_param(const NetParam& np) {
    for (auto& layer : net_->layers_) {
      if (layer->name() == np.layer) return layer->params()[np.index];
    }
    LOG(FATAL) << "parameter " << np.name << " has no layer";
  }

  Blob* storage_blob(int storage) { return net_->blobs_[storage].get(); }

  const NetConfig& config_;
  const NetBuildOptions& options_;
  WorkerContext* ctx_;
  Net* net_;
  std::vector<Node> nodes_;
  std::vector<Version> versions_;
  std::map<std::string, int> final_names_;
  std::vector<bool> grad_;  // per version: carries a gradient (set during setup)
};

void Net::refresh_compute_params() {
  if (precision_ != DType::kBFloat16 || param_compute_.data() == nullptr) return;
  for (const NetParam& p : params_) {
    if (!p.learnable) continue;
#ifdef BANYAN_WITH_CUDA
    if (ctx_->device().is_cuda()) {
      cuda::round_to_bf16(p.blob->count(), p.master, p.blob->data(), ctx_->gpu().compute());
      continue;
    }
#endif
    const float* master = p.master;
    float* compute = p.blob->data();
    for (int64_t i = 0; i < p.blob->count(); ++i) compute[i] = round_bf16(master[i]);
  }
}

Status Net::create(const NetConfig& config, const NetBuildOptions& options, WorkerContext* ctx,
                   std::unique_ptr<Net>* out) {
  CHECK(ctx != nullptr);
  std::unique_ptr<Net> net(new Net());
  NetBuilder builder(config, options, ctx, net.get());
  Status s = builder.build();
  if (!s.ok()) {
    std::string file =
        config.source_file.empty() ? "net '" + config.name + "'" : config.source_file;
    // Messages that already name the file keep their own prefix.
    if (config.source_file.empty() || s.message().find(config.source_file) == std::string::npos) {
      return s.with_context(file);
    }
    return s;
  }
  *out = std::move(net);
  return Status::success();
}

Net::~Net() = default;

}  // namespace banyan
