// Link levels, the participant matrix, and the `nvidia-smi topo -m` text
// format (reader and printer).  The reader accepts what nvidia-smi prints,
// terminal colour escapes included, and stops at the legend.
#include "engine/exchange/topology.h"

#include <glog/logging.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace banyan {
namespace {

// Removes ANSI escape sequences (ESC '[' ... letter) that nvidia-smi writes
// to terminals.
std::string strip_escapes(const std::string& line) {
  std::string out;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\x1b' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && !std::isalpha(static_cast<unsigned char>(line[i]))) ++i;
      continue;
    }
    out += line[i];
  }
  return out;
}

std::vector<std::string> split_tokens(const std::string& line) {
  std::vector<std::string> tokens;
  std::istringstream in(line);
  std::string token;
  while (in >> token) tokens.push_back(token);
  return tokens;
}

// "GPU12" -> 12; -1 when `token` is not GPU<digits>.
int gpu_index(const std::string& token) {
  if (token.size() < 4 || token.compare(0, 3, "GPU") != 0 || token.size() > 8) return -1;
  for (size_t i = 3; i < token.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return -1;
  }
  return std::stoi(token.substr(3));
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// Reads one "GPUi X NV4 ..." row into row `i` of `rows` (n tokens after the name).
Status parse_row(const std::vector<std::string>& tokens, int n, const std::string& where,
                 std::vector<std::vector<Link>>* rows, std::vector<bool>* seen) {
  const int i = gpu_index(tokens[0]);
  if (i < 0 || i >= n) {
    return Status::invalid_argument(where + ": row '" + tokens[0] + "' is not one of GPU0..GPU" +
                                    std::to_string(n - 1) + " of the header");
  }
  if ((*seen)[i]) return Status::invalid_argument(where + ": second row for '" + tokens[0] + "'");
  if (static_cast<int>(tokens.size()) < n + 1) {
    return Status::invalid_argument(where + ": row '" + tokens[0] + "' has " +
                                    std::to_string(tokens.size() - 1) + " entries, expected " +
                                    std::to_string(n));
  }
  (*seen)[i] = true;
  (*rows)[i].resize(n);
  for (int j = 0; j < n; ++j) {
    const std::string& token = tokens[j + 1];
    if (i == j) {
      if (token != "X") {
        return Status::invalid_argument(where + ": expected 'X' on the diagonal (GPU" +
                                        std::to_string(i) + "), found '" + token + "'");
      }
      (*rows)[i][j] = Link{LinkLevel::kSame, 0};
      continue;
    }
    if (!parse_link_name(token, &(*rows)[i][j])) {
      return Status::invalid_argument(where + ": unknown link '" + token + "' between GPU" +
                                      std::to_string(i) + " and GPU" + std::to_string(j) +
                                      " (expected SAME, NV<n>, PIX, PXB, PHB, NODE or SYS)");
    }
  }
  return Status::success();
}

}  // namespace

int Link::distance() const {
  const int base = 100 * static_cast<int>(level);
  return level == LinkLevel::kNvLink ? base + 99 - std::min(nvlinks, 99) : base;
}

std::string link_name(const Link& link) {
  switch (link.level) {
    case LinkLevel::kSame:
      return "SAME";
    case LinkLevel::kNvLink:
      return "NV" + std::to_string(link.nvlinks);
    case LinkLevel::kPix:
      return "PIX";
    case LinkLevel::kPxb:
      return "PXB";
    case LinkLevel::kPhb:
      return "PHB";
    case LinkLevel::kNode:
      return "NODE";
    case LinkLevel::kSys:
      return "SYS";
  }
  return "?";
}

bool parse_link_name(const std::string& token, Link* out) {
  static const struct {
    const char* name;
    LinkLevel level;
  } kNames[] = {{"SAME", LinkLevel::kSame}, {"PIX", LinkLevel::kPix},   {"PXB", LinkLevel::kPxb},
                {"PHB", LinkLevel::kPhb},   {"NODE", LinkLevel::kNode}, {"SYS", LinkLevel::kSys},
                {"SOC", LinkLevel::kSys}};
  for (const auto& entry : kNames) {
    if (token == entry.name) {
      *out = Link{entry.level, 0};
      return true;
    }
  }
  if (token.size() < 3 || token.size() > 4 || !starts_with(token, "NV")) return false;
  for (size_t i = 2; i < token.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(token[i]))) return false;
  }
  const int n = std::stoi(token.substr(2));
  if (n < 1) return false;
  *out = Link{LinkLevel::kNvLink, n};
  return true;
}

LinkMatrix::LinkMatrix(int n) : n_(n), links_(static_cast<size_t>(n) * n) {
  for (int i = 0; i < n; ++i) links_[static_cast<size_t>(i) * n + i] = Link{LinkLevel::kSame, 0};
}

const Link& LinkMatrix::at(int i, int j) const {
  CHECK(i >= 0 && i < n_ && j >= 0 && j < n_) << "link (" << i << ", " << j << ") of " << n_;
  return links_[static_cast<size_t>(i) * n_ + j];
}

void LinkMatrix::set(int i, int j, const Link& link) {
  CHECK(i >= 0 && i < n_ && j >= 0 && j < n_) << "link (" << i << ", " << j << ") of " << n_;
  links_[static_cast<size_t>(i) * n_ + j] = link;
  links_[static_cast<size_t>(j) * n_ + i] = link;
}

Status Topology::parse(const std::string& text, const std::string& source, Topology* out) {
  std::istringstream in(text);
  std::string raw;
  int line_no = 0, n = -1, header_line = 0;
  std::vector<std::vector<Link>> rows;
  std::vector<bool> seen;
  std::vector<int> row_lines;
  while (std::getline(in, raw)) {
    ++line_no;
    const std::string where = source + ":" + std::to_string(line_no);
    const std::vector<std::string> tokens = split_tokens(strip_escapes(raw));
    if (tokens.empty() || tokens[0][0] == '#') continue;
    if (starts_with(tokens[0], "Legend") || starts_with(tokens[0], "NIC Legend")) break;
    if (n < 0) {
      while (n + 1 < static_cast<int>(tokens.size()) && gpu_index(tokens[n + 1]) == n + 1) ++n;
      ++n;
      if (n == 0) {
        return Status::invalid_argument(
            where + ": expected the header row 'GPU0 GPU1 ...', found '" + tokens[0] + "'");
      }
      rows.assign(n, {});
      seen.assign(n, false);
      row_lines.assign(n, 0);
      header_line = line_no;
      continue;
    }
    if (starts_with(tokens[0], "NIC")) continue;
    if (gpu_index(tokens[0]) < 0) {
      return Status::invalid_argument(where + ": expected a row 'GPU<i> ...', found '" + tokens[0] +
                                      "'");
    }
    BANYAN_RETURN_IF_ERROR(parse_row(tokens, n, where, &rows, &seen));
    row_lines[gpu_index(tokens[0])] = line_no;
  }
  if (n < 0) return Status::invalid_argument(source + ": no 'GPU0 ...' header row");
  LinkMatrix links(n);
  for (int i = 0; i < n; ++i) {
    if (!seen[i]) {
      return Status::invalid_argument(source + ":" + std::to_string(header_line) +
                                      ": no row for 'GPU" + std::to_string(i) + "' of the header");
    }
    for (int j = 0; j < i; ++j) {
      if (rows[i][j] != rows[j][i]) {
        return Status::invalid_argument(
            source + ":" + std::to_string(row_lines[i]) + ": GPU" + std::to_string(i) + "-GPU" +
            std::to_string(j) + " is '" + link_name(rows[i][j]) + "' but line " +
            std::to_string(row_lines[j]) + " says '" + link_name(rows[j][i]) + "'");
      }
      links.set(i, j, rows[i][j]);
    }
  }
  *out = Topology(std::move(links));
  return Status::success();
}

Status Topology::read_file(const std::string& path, Topology* out) {
  std::ifstream in(path);
  if (!in) return Status::not_found("topology file '" + path + "' cannot be opened");
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, out);
}

Status Topology::link(const Device& a, const Device& b, Link* out) const {
  for (const Device& d : {a, b}) {
    if (d.is_cuda() && (d.id < 0 || d.id >= num_gpus())) {
      return Status::invalid_argument("device " + d.to_string() + " is not in the topology (" +
                                      std::to_string(num_gpus()) + " GPUs)");
    }
  }
  if (a.is_cpu() && b.is_cpu()) {
    *out = Link{LinkLevel::kSame, 0};
  } else if (a.is_cpu() || b.is_cpu()) {
    *out = Link{LinkLevel::kPhb, 0};
  } else {
    *out = gpus_.at(a.id, b.id);
  }
  return Status::success();
}

Status Topology::participant_links(const std::vector<Device>& participants, LinkMatrix* out) const {
  const int n = participants.size();
  LinkMatrix links(n);
  Link unused;
  for (const Device& d : participants) BANYAN_RETURN_IF_ERROR(link(d, d, &unused));
  for (int i = 0; i < n; ++i) {
    for (int j = 0; j < i; ++j) {
      Link l;
      BANYAN_RETURN_IF_ERROR(link(participants[i], participants[j], &l));
      links.set(i, j, l);
    }
  }
  *out = std::move(links);
  return Status::success();
}

std::string format_link_matrix(const std::vector<std::string>& labels, const LinkMatrix& links) {
  CHECK_EQ(static_cast<int>(labels.size()), links.size());
  std::string out;
  for (const std::string& label : labels) out += "\t" + label;
  out += "\n";
  for (int i = 0; i < links.size(); ++i) {
    out += labels[i];
    for (int j = 0; j < links.size(); ++j) {
      out += "\t" + (i == j ? std::string(" X ") : link_name(links.at(i, j)));
    }
    out += "\n";
  }
  return out;
}

std::vector<std::string> participant_labels(const std::vector<Device>& participants) {
  std::vector<std::string> labels;
  for (size_t i = 0; i < participants.size(); ++i) {
    labels.push_back(std::to_string(i) + ":" + participants[i].to_string());
  }
  return labels;
}

std::string format_topology(const Topology& topology) {
  std::vector<std::string> labels;
  for (int i = 0; i < topology.num_gpus(); ++i) labels.push_back("GPU" + std::to_string(i));
  return format_link_matrix(labels, topology.gpu_links());
}

std::string link_legend() {
  return "Legend:\n"
         "  X    = Self\n"
         "  SAME = The same physical device (a repeated GPU id, or the CPU)\n"
         "  NV#  = Connection traversing a bonded set of # NVLinks\n"
         "  PIX  = Connection traversing at most a single PCIe bridge\n"
         "  PXB  = Connection traversing multiple PCIe bridges (without the host bridge)\n"
         "  PHB  = Connection traversing PCIe as well as a PCIe Host Bridge (also cpu<->GPU)\n"
         "  NODE = Connection traversing PCIe and the interconnect between host bridges "
         "within a NUMA node\n"
         "  SYS  = Connection traversing PCIe and the SMP interconnect between NUMA nodes\n";
}

}  // namespace banyan
