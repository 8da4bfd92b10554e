// `archetype docs --out DIR`: one Markdown page per architecture (paper, figures next to
// the published ones its header asserts, the per-layer table, a Graphviz diagram) and an
// index page that compares them all, for Doxygen. Everything comes from the registry, i.e.
// from the figures the compiler computed from each type.
#include "commands.hpp"
#include "format.hpp"

#include <archetype/architectures/registry.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace archetype::cli {

namespace {

namespace fs = std::filesystem;

/// Above this many ops a net also gets the compact diagram (one node per block).
constexpr std::size_t compact_above_ops = 60;
/// The compact diagram draws at most this many blocks.
constexpr std::size_t compact_max_nodes = 64;
/// Full diagrams of nets up to this many ops are drawn on the page; larger ones are linked.
constexpr std::size_t embed_full_up_to_ops = 120;

struct DocsOptions {
  std::string out;
  std::vector<std::string> models;
};

/// The components of a layer path: "layer1.0.conv1" -> {"layer1", "0", "conv1"}.
std::vector<std::string> path_parts(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t dot = path.find('.', start);
    const std::size_t end = dot == std::string_view::npos ? path.size() : dot;
    parts.emplace_back(path.substr(start, end - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts;
}

std::string join_parts(const std::vector<std::string>& parts, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count && i < parts.size(); ++i) {
    if (i > 0) out += '.';
    out += parts[i];
  }
  return out;
}

/// The classes or features of a flat shape ("1000"), otherwise "CxHxW".
std::string edge_shape(Shape s) {
  return s.h == 1 && s.w == 1 ? std::to_string(s.c) : shape_text(s);
}

std::string dot_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char ch : text) {
    switch (ch) {
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      default: out += ch;
    }
  }
  return out;
}

/// Markdown table cell: pipes would end the cell.
std::string cell(std::string_view text) {
  std::string out;
  for (char ch : text) {
    if (ch == '|') out += "\\|";
    else out += ch;
  }
  return out;
}

/// The node style of an op kind in the diagrams.
std::string node_style(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv: return "fillcolor=\"#cfe2ff\"";
    case LayerKind::batch_norm:
    case LayerKind::local_response_norm: return "fillcolor=\"#d1e7dd\"";
    case LayerKind::relu:
    case LayerKind::relu6:
    case LayerKind::silu:
    case LayerKind::sigmoid: return "fillcolor=\"#fff3cd\"";
    case LayerKind::max_pool:
    case LayerKind::avg_pool:
    case LayerKind::global_avg_pool:
    case LayerKind::adaptive_avg_pool: return "fillcolor=\"#ffe5d0\"";
    case LayerKind::linear: return "fillcolor=\"#e2d9f3\"";
    case LayerKind::add:
    case LayerKind::scale:
    case LayerKind::concat: return "shape=ellipse, fillcolor=\"#e9ecef\"";
    case LayerKind::zero_pad_shortcut: return "fillcolor=\"#f1e3f5\"";
    default: return "fillcolor=\"#f8f9fa\"";
  }
}

/// The page label of a model (Doxygen page name and HTML file name).
std::string page_label(const ModelEntry& m) { return "arch_" + std::string(m.name); }

/// The paper's title: `ModelEntry::paper` is "Authors Year, Title".
std::string_view paper_title(const ModelEntry& m) {
  const std::size_t comma = m.paper.find(", ");
  return comma == std::string_view::npos ? m.paper : m.paper.substr(comma + 2);
}

/// Receptive field of every tensor (per side, input pixels), following the program's
/// graph: a layer with kernel k and stride s after a field r with jump j gives
/// r + (k - 1) j and j s; a join takes the largest of its inputs; a global layer ends it
/// (0 from there on).
struct FieldTracker {
  struct Field {
    std::int64_t rh = 1, rw = 1, jh = 1, jw = 1;
    bool ended = false;
  };
  std::vector<Field> tensors;

  explicit FieldTracker(const codegen::ProgramView& p) : tensors(p.tensors.size()) {
    for (const codegen::Op& op : p.ops) {
      Field in = tensors[std::size_t(op.inputs[0])];
      for (int i = 1; i < op.input_count; ++i) {
        const Field& other = tensors[std::size_t(op.inputs[i])];
        in.rh = std::max(in.rh, other.rh);
        in.rw = std::max(in.rw, other.rw);
        in.ended = in.ended || other.ended;
      }
      Field out = in;
      if (op.layer.global) {
        out.ended = true;
      } else if (!in.ended) {
        out.rh = in.rh + std::int64_t(op.layer.kernel_h - 1) * in.jh;
        out.rw = in.rw + std::int64_t(op.layer.kernel_w - 1) * in.jw;
        out.jh = in.jh * op.layer.stride_h;
        out.jw = in.jw * op.layer.stride_w;
      }
      tensors[std::size_t(op.output)] = out;
    }
  }

  [[nodiscard]] std::string text(int tensor) const {
    const Field& f = tensors[std::size_t(tensor)];
    if (f.ended) return "global";
    return std::to_string(f.rh) + "x" + std::to_string(f.rw);
  }
};

/// The ops of one diagram node in the compact view and what they add up to.
struct Block {
  std::string key;
  std::vector<int> ops;
};

/// Graphviz: every op a node, grouped in clusters by path prefix (`layer1` > `layer1.0`),
/// every tensor an edge labelled with its shape.
std::string full_diagram(const ModelEntry& m) {
  const codegen::ProgramView& p = m.native.program;
  std::ostringstream dot;
  dot << "digraph \"" << m.name << "\" {\n"
      << "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, "
         "ranksep=0.3, labeljust=l];\n"
      << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, "
         "height=0.3];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\", arrowsize=0.6];\n"
      << "  input [label=\"input\\n" << shape_text(m.native.input)
      << "\", shape=oval, fillcolor=\"#ffffff\"];\n";

  // Cluster tree: each op sits in the cluster of its path without the last component.
  struct Cluster {
    std::map<std::string, std::unique_ptr<Cluster>> children;
    std::vector<std::string> order;  // child keys in first-seen order
    std::vector<int> ops;
  };
  Cluster root;
  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const auto parts = path_parts(p.ops[i].layer.path.view());
    Cluster* c = &root;
    for (std::size_t depth = 1; depth < parts.size(); ++depth) {
      const std::string key = join_parts(parts, depth);
      auto& child = c->children[key];
      if (!child) {
        child = std::make_unique<Cluster>();
        c->order.push_back(key);
      }
      c = child.get();
    }
    c->ops.push_back(int(i));
  }
  int cluster_id = 0;
  auto emit = [&](auto& self, const Cluster& c, const std::string& indent) -> void {
    for (int i : c.ops) {
      const LayerRow& row = p.ops[std::size_t(i)].layer;
      // A named op shows its name; an unnamed one (its index in a Seq) only its kind.
      const auto parts = path_parts(row.path.view());
      const bool unnamed = parts.back().find_first_not_of("0123456789") == std::string::npos;
      std::string label = (unnamed ? "" : parts.back() + "\\n") + std::string(row.kind.view());
      if (!row.attributes.view().empty()) label += " " + dot_escape(row.attributes.view());
      if (row.op == LayerKind::add) label = "+";
      if (row.op == LayerKind::scale) label = "×";
      dot << indent << "op" << i << " [label=\"" << label << "\", tooltip=\""
          << dot_escape(row.path.view()) << ": " << with_separators(row.params) << " params, "
          << with_separators(row.macs) << " MACs\", " << node_style(row.op) << "];\n";
    }
    for (const std::string& key : c.order) {
      dot << indent << "subgraph cluster_" << cluster_id++ << " {\n"
          << indent << "  label=\"" << dot_escape(key) << "\"; style=\"rounded\"; "
          << "color=\"#adb5bd\"; fontcolor=\"#495057\";\n";
      self(self, *c.children.at(key), indent + "  ");
      dot << indent << "}\n";
    }
  };
  emit(emit, root, "  ");

  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const codegen::Op& op = p.ops[i];
    for (int k = 0; k < op.input_count; ++k) {
      const int t = op.inputs[k];
      const int producer = p.tensors[std::size_t(t)].producer;
      dot << "  " << (producer < 0 ? std::string("input") : "op" + std::to_string(producer))
          << " -> op" << i << " [label=\" " << edge_shape(p.tensors[std::size_t(t)].shape)
          << "\"];\n";
    }
  }
  const int last = p.tensors[std::size_t(p.output)].producer;
  dot << "  output [label=\"output\\n" << edge_shape(m.native.output)
      << " classes\", shape=oval, fillcolor=\"#ffffff\"];\n"
      << "  op" << last << " -> output;\n}\n";
  return dot.str();
}

/// The compact view's blocks: ops grouped by the first `depth` components of their path,
/// with `depth` the deepest level that gives at most `compact_max_nodes` blocks. Empty
/// when no such level gives at least 8 blocks (the full diagram is then the right one).
std::vector<Block> compact_blocks(const codegen::ProgramView& p) {
  std::size_t max_depth = 1;
  for (const codegen::Op& op : p.ops) {
    max_depth = std::max(max_depth, path_parts(op.layer.path.view()).size());
  }
  for (std::size_t depth = max_depth - 1; depth >= 1; --depth) {
    std::vector<Block> blocks;
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < p.ops.size(); ++i) {
      const std::string key = join_parts(path_parts(p.ops[i].layer.path.view()), depth);
      auto [it, inserted] = index.try_emplace(key, blocks.size());
      if (inserted) blocks.push_back(Block{key, {}});
      blocks[it->second].ops.push_back(int(i));
    }
    if (blocks.size() <= compact_max_nodes) {
      if (blocks.size() >= 8) return blocks;
      return {};
    }
  }
  return {};
}

/// Graphviz, compact: one node per block (its op kinds counted, output shape, parameters
/// and MACs), clusters for the levels above, edges labelled with the shapes between blocks.
std::string compact_diagram(const ModelEntry& m, const std::vector<Block>& blocks) {
  const codegen::ProgramView& p = m.native.program;
  std::vector<int> block_of(p.ops.size());
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    for (int i : blocks[b].ops) block_of[std::size_t(i)] = int(b);
  }
  std::ostringstream dot;
  dot << "digraph \"" << m.name << "_blocks\" {\n"
      << "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, "
         "ranksep=0.3, labeljust=l];\n"
      << "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10];\n"
      << "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#555555\", arrowsize=0.6];\n"
      << "  input [label=\"input\\n" << shape_text(m.native.input)
      << "\", shape=oval, fillcolor=\"#ffffff\"];\n";

  // Clusters: blocks sharing their first component ("layer1.0", "layer1.1" in "layer1").
  std::vector<std::string> cluster_order;
  std::map<std::string, std::vector<std::size_t>> clusters;
  std::vector<std::size_t> loose;
  for (std::size_t b = 0; b < blocks.size(); ++b) {
    const auto parts = path_parts(blocks[b].key);
    if (parts.size() < 2) {
      loose.push_back(b);
      continue;
    }
    auto [it, inserted] = clusters.try_emplace(parts.front());
    if (inserted) cluster_order.push_back(parts.front());
    it->second.push_back(b);
  }
  auto node = [&](std::size_t b, const std::string& indent) {
    const Block& block = blocks[b];
    std::map<std::string, int> kinds;
    std::vector<std::string> kind_order;
    std::int64_t params = 0, macs = 0;
    for (int i : block.ops) {
      const LayerRow& row = p.ops[std::size_t(i)].layer;
      const std::string kind(row.kind.view());
      if (kinds[kind]++ == 0) kind_order.push_back(kind);
      params += row.params;
      macs += row.macs;
    }
    const LayerRow& first = p.ops[std::size_t(block.ops.front())].layer;
    const LayerRow& last = p.ops[std::size_t(block.ops.back())].layer;
    std::string label = dot_escape(block.key) + "\\n";
    if (block.ops.size() == 1) {
      label += std::string(first.kind.view());
      if (!first.attributes.view().empty()) label += " " + dot_escape(first.attributes.view());
    } else {
      for (std::size_t k = 0; k < kind_order.size(); ++k) {
        if (k > 0) label += ", ";
        const int n = kinds[kind_order[k]];
        label += (n > 1 ? std::to_string(n) + " " : "") + kind_order[k];
      }
    }
    if (params > 0) label += "\\n" + with_separators(params) + " params";
    const LayerKind style_kind = block.ops.size() == 1 ? first.op : LayerKind::conv;
    dot << indent << "b" << b << " [label=\"" << label << "\", tooltip=\""
        << dot_escape(block.key) << ": " << shape_text(first.in) << " -> "
        << shape_text(last.out) << ", " << with_separators(macs) << " MACs\", "
        << node_style(style_kind) << "];\n";
  };
  for (std::size_t b : loose) node(b, "  ");
  int cluster_id = 0;
  for (const std::string& key : cluster_order) {
    dot << "  subgraph cluster_" << cluster_id++ << " {\n"
        << "    label=\"" << dot_escape(key) << "\"; style=\"rounded\"; color=\"#adb5bd\"; "
        << "fontcolor=\"#495057\";\n";
    for (std::size_t b : clusters.at(key)) node(b, "    ");
    dot << "  }\n";
  }

  std::set<std::pair<int, int>> drawn;
  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const codegen::Op& op = p.ops[i];
    const int to = block_of[i];
    for (int k = 0; k < op.input_count; ++k) {
      const int t = op.inputs[k];
      const int producer = p.tensors[std::size_t(t)].producer;
      const int from = producer < 0 ? -1 : block_of[std::size_t(producer)];
      if (from == to || !drawn.emplace(from, to).second) continue;
      dot << "  " << (from < 0 ? std::string("input") : "b" + std::to_string(from)) << " -> b"
          << to << " [label=\" " << edge_shape(p.tensors[std::size_t(t)].shape) << "\"];\n";
    }
  }
  const int last = p.tensors[std::size_t(p.output)].producer;
  dot << "  output [label=\"output\\n" << edge_shape(m.native.output)
      << " classes\", shape=oval, fillcolor=\"#ffffff\"];\n"
      << "  b" << block_of[std::size_t(last)] << " -> output;\n}\n";
  return dot.str();
}

std::string published_text(std::int64_t value, std::string_view source, std::string_view how) {
  if (value == 0) return "—";
  return with_separators(value) + " (" + std::string(source) + "; " + std::string(how) + ")";
}

/// Ops of each kind, most frequent first: "53 Conv, 53 BatchNorm, 49 ReLU, …".
std::string kind_counts(const codegen::ProgramView& p) {
  std::map<std::string, int> counts;
  std::vector<std::string> order;
  for (const codegen::Op& op : p.ops) {
    const std::string kind(op.layer.kind.view());
    if (counts[kind]++ == 0) order.push_back(kind);
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return counts[a] > counts[b];
  });
  std::string out;
  for (const std::string& kind : order) {
    if (!out.empty()) out += ", ";
    out += std::to_string(counts[kind]) + " " + kind;
  }
  return out;
}

std::string rf_text(ReceptiveField rf) { return std::to_string(rf.h) + "x" + std::to_string(rf.w); }

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

/// One architecture's page.
std::string model_page(const ModelEntry& m, bool has_compact) {
  const ModelInfo& info = m.native;
  const codegen::ProgramView& p = info.program;
  const ActivationBytes one = info.activation_bytes(1);
  const ActivationBytes batch = info.activation_bytes(128);
  const architectures::Published& pub = m.published;
  std::ostringstream md;
  md << "# " << m.title << " {#" << page_label(m) << "}\n\n";
  md << "**Paper:** " << m.authors << ". *" << paper_title(m) << "*. " << m.venue << ". <"
     << m.link << ">\n\n";
  md << "**Type:** `" << m.type << "` — registered as `" << m.name
     << "`. Every figure on this page was computed by the compiler from this type (the "
        "same figures as `archetype describe "
     << m.name << "`); the published figures are the constants its header static_asserts, "
                  "so the page cannot disagree with a build that compiles.\n\n";

  md << "## Figures {#" << page_label(m) << "_figures}\n\n"
     << "| figure | computed from the type | published (asserted at compile time) |\n"
     << "|:--|:--|:--|\n"
     << "| input → output | " << shape_text(info.input) << " → " << info.output.c
     << " classes | |\n"
     << "| parameters (trainable) | " << with_separators(info.params) << " | "
     << published_text(pub.params, pub.source, "exact") << " |\n";
  const std::string tolerance =
      pub.macs_per_mille == 0 ? "exact"
                              : "within " + scaled(pub.macs_per_mille, 10,
                                                   pub.macs_per_mille % 10 == 0 ? 0 : 1) + "%";
  md << "| MACs per image, forward | " << with_separators(info.macs) << " | "
     << published_text(pub.macs, pub.source, tolerance) << " |\n"
     << "| FLOPs per image (2 × MACs) | " << with_separators(info.flops()) << " | |\n"
     << "| buffers (BatchNorm running statistics) | " << with_separators(info.buffers)
     << " | |\n"
     << "| receptive field (input pixels) | " << rf_text(info.receptive_field) << " | |\n"
     << "| activation memory, inference peak (fp32) | " << bytes_text(one.inference_peak)
     << " per image; " << bytes_text(batch.inference_peak) << " at batch 128 | |\n"
     << "| activation memory, saved for training (fp32) | " << bytes_text(one.training_saved)
     << " per image; " << bytes_text(batch.training_saved) << " at batch 128 | |\n"
     << "| ops | " << p.ops.size() << " | |\n\n"
     << "Ops by kind: " << kind_counts(p) << ".\n\n";
  md << "Conventions: parameters are trainable scalars (BatchNorm's gamma and beta count, its "
        "running statistics are buffers); MACs are the multiply-accumulates of convolutions "
        "and linear layers in one forward pass of one image; the receptive field is that of "
        "one output position of the last layer before the first global layer. Fed 1x28x28 "
        "Fashion-MNIST images through its input adapter (`Adapted<N, Shape{1, 28, 28}>`), "
        "the net has "
     << with_separators(m.fashion_mnist.params) << " parameters and "
     << with_separators(m.fashion_mnist.macs) << " MACs per image.\n\n";

  md << "## Graph {#" << page_label(m) << "_graph}\n\n";
  if (has_compact) {
    md << "One node per block (ops counted by kind, parameters), edges labelled with the "
          "tensor shape between blocks. The full graph, one node per op, is "
       << "<a href=\"" << m.name << ".svg\">" << m.name << ".svg</a> (" << p.ops.size()
       << " ops).\n\n"
       << "\\image html " << m.name << "_blocks.svg\n\n";
    if (p.ops.size() <= embed_full_up_to_ops) md << "\\image html " << m.name << ".svg\n\n";
  } else {
    md << "One node per op, grouped by layer path; edges labelled with the tensor shape.\n\n"
       << "\\image html " << m.name << ".svg\n\n";
  }

  md << "## Layers {#" << page_label(m) << "_layers}\n\n"
     << "The compile-time layer table, one row per op in topological order (`layers_v`). "
        "*RF*: receptive field of the op's output in input pixels (*global* after a layer "
        "that mixes all positions); *output memory*: the op's output tensor in fp32 per "
        "image (*view*: shares its input's memory).\n\n"
     << "| no. | path | kind | attributes | input | output | params | MACs | RF | output memory |\n"
     << "|--:|:--|:--|:--|:--|:--|--:|--:|--:|--:|\n";
  const FieldTracker fields(p);
  for (std::size_t i = 0; i < p.ops.size(); ++i) {
    const codegen::Op& op = p.ops[i];
    const LayerRow& row = op.layer;
    const Shape out = row.out;
    md << "| " << i << " | `" << cell(row.path.view()) << "` | " << cell(row.kind.view())
       << " | " << cell(row.attributes.view()) << " | " << shape_text(row.in) << " | "
       << shape_text(out) << " | " << with_separators(row.params) << " | "
       << with_separators(row.macs) << " | " << fields.text(op.output) << " | "
       << (row.view ? std::string("view") : bytes_text(out.c * out.h * out.w * 4)) << " |\n";
  }
  md << "| | **total** | | | " << shape_text(info.input) << " | " << shape_text(info.output)
     << " | **" << with_separators(info.params) << "** | **" << with_separators(info.macs)
     << "** | " << rf_text(info.receptive_field) << " | |\n\n";
  md << "Back to [all architectures](architectures.html).\n";
  return md.str();
}

/// The index: one sortable table of every architecture.
std::string index_page(std::span<const ModelEntry* const> models) {
  std::ostringstream md;
  md << "# Architectures {#architectures}\n\n"
     << "Every architecture of the zoo, with the figures the compiler computed from its "
        "type at the paper's input (per image, forward; MACs are multiply-accumulates, "
        "FLOPs = 2 × MACs; memory in fp32). Click a column header to sort by it; a name "
        "opens the architecture's page (paper, figures next to the published ones, graph, "
        "layer table). Generated by `archetype docs`.\n\n"
     << "\\htmlonly\n"
     << "<div class=\"archetype-index\"><table class=\"sortable\">\n<thead><tr>"
     << "<th>model</th><th>year</th><th>input</th><th>ops</th>"
     << "<th>parameters</th><th>published</th><th>MMACs</th><th>published</th>"
     << "<th>RF</th><th>peak / image</th><th>saved / image</th>"
     << "</tr></thead>\n<tbody>\n";
  for (const ModelEntry* m : models) {
    const ModelInfo& info = m->native;
    const ActivationBytes one = info.activation_bytes(1);
    const std::int64_t pixels = info.input.c * info.input.h * info.input.w;
    md << "<tr><td><a href=\"" << page_label(*m) << ".html\" title=\"" << html_escape(m->title)
       << "\">" << html_escape(m->name) << "</a></td><td>" << m->year << "</td>"
       << "<td data-value=\"" << pixels << "\">" << shape_text(info.input) << "</td>"
       << "<td data-value=\"" << info.program.ops.size() << "\">" << info.program.ops.size()
       << "</td><td data-value=\"" << info.params << "\">" << with_separators(info.params)
       << "</td><td data-value=\"" << m->published.params << "\">"
       << (m->published.params > 0 ? with_separators(m->published.params) : "—")
       << "</td><td data-value=\"" << info.macs << "\">" << scaled(info.macs, 1e6, 1)
       << "</td><td data-value=\"" << m->published.macs << "\">"
       << (m->published.macs > 0 ? scaled(m->published.macs, 1e6, 1) : "—")
       << "</td><td data-value=\"" << info.receptive_field.h << "\">"
       << rf_text(info.receptive_field) << "</td><td data-value=\"" << one.inference_peak
       << "\">" << bytes_text(one.inference_peak) << "</td><td data-value=\""
       << one.training_saved << "\">" << bytes_text(one.training_saved) << "</td></tr>\n";
  }
  md << "</tbody>\n</table></div>\n<script src=\"sortable.js\"></script>\n\\endhtmlonly\n\n"
     << "*MMACs*: millions of multiply-accumulates per image; *published*: the figures the "
        "model's header static_asserts (parameters exactly, MACs within 1% unless its page "
        "says otherwise); *RF*: receptive field in input pixels; *peak*: inference "
        "activation peak; *saved*: activations kept for the backward pass.\n\n"
     << "## One page per architecture {#architectures_pages}\n\n";
  for (const ModelEntry* m : models) {
    md << "- \\subpage " << page_label(*m) << " — " << m->paper << "\n";
  }
  return md.str();
}

int run_docs(const DocsOptions& options) {
  std::vector<const ModelEntry*> selected;
  if (options.models.empty()) {
    for (const ModelEntry& m : models()) selected.push_back(&m);
  } else {
    for (const std::string& name : options.models) {
      const ModelEntry* m = model_or_report(name);
      if (m == nullptr) return exit_usage;
      selected.push_back(m);
    }
  }
  const fs::path out = options.out;
  fs::create_directories(out);
  std::size_t diagrams = 0;
  for (const ModelEntry* m : selected) {
    const std::vector<Block> blocks = m->native.program.ops.size() > compact_above_ops
                                          ? compact_blocks(m->native.program)
                                          : std::vector<Block>{};
    write_file(out / (page_label(*m) + ".md"), model_page(*m, !blocks.empty()));
    write_file(out / (std::string(m->name) + ".dot"), full_diagram(*m));
    ++diagrams;
    if (!blocks.empty()) {
      write_file(out / (std::string(m->name) + "_blocks.dot"), compact_diagram(*m, blocks));
      ++diagrams;
    }
  }
  write_file(out / "architectures.md", index_page(selected));
  std::cout << "archetype docs: wrote " << selected.size() + 1 << " pages and " << diagrams
            << " Graphviz diagrams to " << out.string() << '\n';
  return 0;
}

}  // namespace

Command add_docs(CLI::App& app) {
  auto options = std::make_shared<DocsOptions>();
  CLI::App* sub = app.add_subcommand(
      "docs",
      "Write the architecture pages for Doxygen: one Markdown page per model (paper, figures "
      "next to the published ones, layer table, diagram), Graphviz .dot diagrams and an index");
  sub->add_option("--out", options->out, "Directory to write the pages and diagrams to")
      ->required();
  sub->add_option("models", options->models, "Only these models (default: every model)");
  return Command{sub, [options] { return run_docs(*options); }};
}

}  // namespace archetype::cli
