// Agglomerative construction of the exchange tree and its printers.  O(n^3)
// in the number of participants, which is at most a few dozen.
#include "engine/exchange/tree.h"

#include <glog/logging.h>

#include <algorithm>
#include <tuple>

namespace banyan {
namespace {

struct Cluster {
  std::vector<int> ranks;  // sorted; ranks[0] is the leader
  int node = 0;
};

Link farthest_link(const LinkMatrix& links, const Cluster& a, const Cluster& b) {
  Link worst{LinkLevel::kSame, 0};
  for (int i : a.ranks) {
    for (int j : b.ranks) {
      if (links.at(i, j).distance() > worst.distance()) worst = links.at(i, j);
    }
  }
  return worst;
}

}  // namespace

ExchangeTree ExchangeTree::build(const LinkMatrix& links) {
  const int n = links.size();
  CHECK_GE(n, 1) << "an exchange tree needs a participant";
  ExchangeTree tree;
  tree.parent_.assign(n, -1);
  tree.children_.assign(n, {});
  std::vector<Cluster> clusters;
  for (int r = 0; r < n; ++r) clusters.push_back(Cluster{{r}, r});
  while (clusters.size() > 1) {
    // Key: (distance, merged size, lower leader, higher leader); clusters
    // stay ordered by leader, so a < b means clusters[a] holds the lower ranks.
    std::tuple<int, size_t, int, int> best{0, 0, 0, 0};
    size_t best_a = 0, best_b = 0;
    bool found = false;
    for (size_t a = 0; a < clusters.size(); ++a) {
      for (size_t b = a + 1; b < clusters.size(); ++b) {
        const std::tuple<int, size_t, int, int> key{
            farthest_link(links, clusters[a], clusters[b]).distance(),
            clusters[a].ranks.size() + clusters[b].ranks.size(), clusters[a].ranks[0],
            clusters[b].ranks[0]};
        if (!found || key < best) {
          best = key, best_a = a, best_b = b, found = true;
        }
      }
    }
    Cluster& left = clusters[best_a];
    Cluster& right = clusters[best_b];
    tree.merges_.push_back(Merge{left.node, right.node, farthest_link(links, left, right)});
    tree.parent_[right.ranks[0]] = left.ranks[0];
    tree.children_[left.ranks[0]].push_back(right.ranks[0]);
    left.ranks.insert(left.ranks.end(), right.ranks.begin(), right.ranks.end());
    std::sort(left.ranks.begin(), left.ranks.end());
    left.node = n + static_cast<int>(tree.merges_.size()) - 1;
    clusters.erase(clusters.begin() + best_b);
  }
  return tree;
}

int ExchangeTree::depth() const {
  int deepest = 0;
  for (int r = 0; r < size(); ++r) {
    int d = 0;
    for (int p = parent_[r]; p >= 0; p = parent_[p]) ++d;
    deepest = std::max(deepest, d);
  }
  return deepest;
}

std::string ExchangeTree::node_string(int node) const {
  if (node < size()) return std::to_string(node);
  const Merge& m = merges_[node - size()];
  return link_name(m.link) + "(" + node_string(m.left) + " " + node_string(m.right) + ")";
}

std::string ExchangeTree::to_string() const {
  return node_string(merges_.empty() ? 0 : size() + static_cast<int>(merges_.size()) - 1);
}

void ExchangeTree::indent_node(int node, int depth, std::string* out) const {
  out->append(2 * depth, ' ');
  if (node < size()) {
    *out += "rank " + std::to_string(node) + "\n";
    return;
  }
  const Merge& m = merges_[node - size()];
  *out += link_name(m.link) + "\n";
  indent_node(m.left, depth + 1, out);
  indent_node(m.right, depth + 1, out);
}

std::string ExchangeTree::to_indented_string() const {
  std::string out;
  indent_node(merges_.empty() ? 0 : size() + static_cast<int>(merges_.size()) - 1, 0, &out);
  return out;
}

}  // namespace banyan
