// ExchangeTree: the reduction tree of the tree all-reduce (DESIGN §5), built
// by pairing the closest participants first.  Agglomerative: repeatedly merge
// the two closest clusters, where a cluster's distance to another is its
// farthest pair (complete linkage); ties go to the pair whose union is
// smallest (so equals pair up before chains grow), then to the lowest ranks.
// A merge makes the higher cluster's leader (its lowest rank) a child of the
// lower one's, so rank 0 is the root, and each rank adds its children in the
// order they merged: the summation order is fixed by the links alone.
#pragma once

#include <string>
#include <vector>

#include "engine/core/status.h"
#include "engine/exchange/topology.h"

namespace banyan {

class ExchangeTree {
 public:
  // One merge of two clusters, `left` the one with the lower leader; nodes
  // 0..n-1 are the ranks, merge k is node n + k.
  struct Merge {
    int left = 0, right = 0;
    Link link;  // the farthest link between the two clusters
  };

  // Builds the tree for links.size() >= 1 participants.
  static ExchangeTree build(const LinkMatrix& links);

  int size() const { return static_cast<int>(parent_.size()); }
  // -1 for rank 0 (the root).
  int parent(int rank) const { return parent_[rank]; }
  // In summation order.
  const std::vector<int>& children(int rank) const { return children_[rank]; }
  const std::vector<Merge>& merges() const { return merges_; }
  // Longest path from a leaf to the root, in edges (0 for one participant).
  int depth() const;

  // One line, the link level after each merge:
  // "SYS(PIX(PIX(0 1) PIX(2 3)) PIX(PIX(4 5) PIX(6 7)))"; "0" for one rank.
  std::string to_string() const;
  // One merge per line, indented by depth, e.g. "SYS\n  PIX\n    0\n...".
  std::string to_indented_string() const;

 private:
  std::string node_string(int node) const;
  void indent_node(int node, int depth, std::string* out) const;

  std::vector<int> parent_;
  std::vector<std::vector<int>> children_;
  std::vector<Merge> merges_;
};

}  // namespace banyan
