// Building array nodes: shapes, constant folding and the identities that keep derivatives small.
// Operands come from lowerArrays (over a program sema has checked) or from differentiate, so a
// shape that does not fit is a bug here, not a user's error: std::logic_error.
#include "array/array.h"

#include <cstring>
#include <stdexcept>

namespace nabla::array {

namespace {

void require(bool ok, const char *what) {
  if (!ok) throw std::logic_error(std::string("array graph: ") + what);
}

}  // namespace

namespace {

std::size_t mix(std::size_t h, std::uint64_t v) {
  return h ^ (static_cast<std::size_t>(v) + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2));
}

std::size_t hashNode(const Node &n) {
  std::size_t h = mix(static_cast<std::size_t>(n.kind), static_cast<std::uint64_t>(n.op));
  h = mix(h, n.group);
  for (std::uint8_t k = 0; k < n.argCount; ++k) h = mix(h, n.args[k]);
  for (auto d : n.shape.dims) h = mix(h, d);
  for (const SliceDim &d : n.box) h = mix(mix(mix(h, d.start), d.count), d.keep);
  for (Id p : n.parts) h = mix(h, p);
  for (double v : n.values) {
    std::uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    h = mix(h, bits);
  }
  return h;
}

bool sameNode(const Node &a, const Node &b) {
  if (a.kind != b.kind || a.op != b.op || a.shape != b.shape || a.batched != b.batched ||
      a.argCount != b.argCount || a.group != b.group || a.parts != b.parts ||
      a.box.size() != b.box.size() || a.values.size() != b.values.size())
    return false;
  for (std::uint8_t k = 0; k < a.argCount; ++k)
    if (a.args[k] != b.args[k]) return false;
  for (std::size_t d = 0; d < a.box.size(); ++d)
    if (a.box[d].start != b.box[d].start || a.box[d].count != b.box[d].count ||
        a.box[d].keep != b.box[d].keep)
      return false;
  // Bits, not values: -0 is not 0, and a NaN is itself.
  return a.values.empty() ||
         std::memcmp(a.values.data(), b.values.data(), a.values.size() * sizeof(double)) == 0;
}

}  // namespace

Id Graph::add(Node node) {
  // A sum over the rows is the same for every row; other nodes depend on the rows when an
  // operand does.
  if (node.kind != Kind::BatchSum && node.kind != Kind::OuterSum)
    for (std::uint8_t k = 0; k < node.argCount; ++k)
      if (nodes_[node.args[k]].batched) node.batched = true;
  const std::size_t h = hashNode(node);
  auto [from, to] = interned_.equal_range(h);
  for (auto it = from; it != to; ++it)
    if (sameNode(nodes_[it->second], node)) return it->second;
  nodes_.push_back(std::move(node));
  const Id id = static_cast<Id>(nodes_.size() - 1);
  interned_.emplace(h, id);
  return id;
}

bool Graph::isConstant(Id id, double v) const {
  const Node &n = nodes_[id];
  if (n.kind != Kind::Const) return false;
  for (double x : n.values)
    if (!(x == v)) return false;
  return true;
}

Id Graph::param(std::uint32_t group, const Shape &shape) {
  Node n;
  n.kind = Kind::Param;
  n.group = group;
  n.shape = shape;
  return add(std::move(n));
}

Id Graph::input(std::uint32_t group, const Shape &shape, bool batched) {
  Node n;
  n.kind = Kind::Input;
  n.group = group;
  n.shape = shape;
  n.batched = batched;
  return add(std::move(n));
}

Id Graph::constant(double v) { return constant(Shape{}, {v}); }

Id Graph::constant(Shape shape, std::vector<double> values) {
  require(values.size() == shape.size(), "constant of the wrong size");
  Node n;
  n.kind = Kind::Const;
  n.shape = std::move(shape);
  n.values = std::move(values);
  return add(std::move(n));
}

Id Graph::map(Op op, Id a, Id b, Id c) {
  const Id ids[3] = {a, b, c};
  const std::uint8_t count = c != kNone ? 3 : b != kNone ? 2 : 1;
  Shape shape;
  bool allConst = true;
  for (std::uint8_t k = 0; k < count; ++k) {
    const Node &x = nodes_[ids[k]];
    if (!x.shape.isScalar()) {
      require(shape.isScalar() || shape == x.shape, "elementwise operands of different shapes");
      shape = x.shape;
    }
    allConst = allConst && x.kind == Kind::Const;
  }
  if (allConst) {
    std::vector<double> values(shape.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      double v[3] = {0, 0, 0};
      for (std::uint8_t k = 0; k < count; ++k) {
        const Node &x = nodes_[ids[k]];
        v[k] = x.values[x.shape.isScalar() ? 0 : i];
      }
      values[i] = evalOp(op, v[0], v[1], v[2]);
    }
    return constant(shape, std::move(values));
  }
  // A broadcast scalar operand is the scalar itself: maps broadcast scalars (the same values);
  // when every operand was one, the map of the scalars is broadcast.
  {
    Id scalars[3] = {a, b, c};
    bool any = false, arrays = false;
    for (std::uint8_t k = 0; k < count; ++k) {
      if (nodes_[scalars[k]].kind == Kind::Broadcast) {
        scalars[k] = nodes_[scalars[k]].args[0];
        any = true;
      }
      arrays = arrays || !nodes_[scalars[k]].shape.isScalar();
    }
    if (any) {
      const Id m = map(op, scalars[0], count > 1 ? scalars[1] : kNone, count > 2 ? scalars[2] : kNone);
      return arrays ? m : broadcast(m, shape);
    }
  }
  // Embeddings in one box: the map inside it, where it keeps zeros zero (the scalar level has no
  // term outside the box at all).
  auto isEmbed = [&](Id x) { return nodes_[x].kind == Kind::Embed; };
  auto sameBox = [&](Id x, Id y) {
    const Node &p = nodes_[x], &q = nodes_[y];
    if (p.shape != q.shape || p.box.size() != q.box.size()) return false;
    for (std::size_t d = 0; d < p.box.size(); ++d)
      if (p.box[d].start != q.box[d].start || p.box[d].count != q.box[d].count ||
          p.box[d].keep != q.box[d].keep)
        return false;
    return true;
  };
  auto reembed = [&](Id like, Id inner) { return embed(inner, nodes_[like].shape, nodes_[like].box); };
  if ((op == Op::Add || op == Op::Sub) && isEmbed(a) && isEmbed(b) && sameBox(a, b))
    return reembed(a, map(op, nodes_[a].args[0], nodes_[b].args[0]));
  if (op == Op::Neg && isEmbed(a)) return reembed(a, map(Op::Neg, nodes_[a].args[0]));
  if (op == Op::Mul && isEmbed(a) && nodes_[b].shape.isScalar() && !nodes_[b].batched)
    return reembed(a, map(Op::Mul, nodes_[a].args[0], b));
  if (op == Op::Mul && isEmbed(b) && nodes_[a].shape.isScalar() && !nodes_[a].batched)
    return reembed(b, map(Op::Mul, a, nodes_[b].args[0]));
  // Identities that keep the operand's shape (x*1 where x is a scalar and 1 an array is not x).
  auto same = [&](Id x) { return nodes_[x].shape == shape; };
  auto isNeg = [&](Id x) { return nodes_[x].kind == Kind::Map && nodes_[x].op == Op::Neg; };
  switch (op) {
  case Op::Mul:
    if (isConstant(b, 1) && same(a)) return a;
    if (isConstant(a, 1) && same(b)) return b;
    if (isConstant(a, -1) && nodes_[a].shape.isScalar()) return map(Op::Neg, b);
    if (isConstant(b, -1) && nodes_[b].shape.isScalar()) return map(Op::Neg, a);
    break;
  case Op::Add:
    if (isConstant(b, 0) && same(a)) return a;
    if (isConstant(a, 0) && same(b)) return b;
    if (isNeg(b)) return map(Op::Sub, a, nodes_[b].args[0]);  // a + -b = a - b
    if (isNeg(a)) return map(Op::Sub, b, nodes_[a].args[0]);
    break;
  case Op::Neg:
    if (isNeg(a)) return nodes_[a].args[0];
    break;
  case Op::Pow:  // x^1 is x exactly
    if (isConstant(b, 1) && same(a)) return a;
    break;
  case Op::Where:  // a constant condition picks its branch
    if (nodes_[a].kind == Kind::Const && nodes_[a].shape.isScalar()) {
      const Id branch = nodes_[a].values[0] != 0 ? b : c;
      if (same(branch)) return branch;
    }
    break;
  case Op::Sub:
    if (isConstant(b, 0) && same(a)) return a;
    break;
  case Op::Div:
    if (isConstant(b, 1) && same(a)) return a;
    break;
  default: break;
  }
  Node n;
  n.kind = Kind::Map;
  n.op = op;
  n.shape = shape;
  n.argCount = count;
  n.args = {a, b, c};
  return add(std::move(n));
}

Id Graph::matmul(Id a, Id b) {
  const Shape &sa = nodes_[a].shape, &sb = nodes_[b].shape;
  require(!sa.isScalar() && !sb.isScalar() && sa.dims.size() <= 2 && sb.dims.size() <= 2 &&
              sa.dims.back() == sb.dims[0],
          "matrix product of shapes that do not fit");
  Node n;
  n.kind = Kind::MatMul;
  if (sa.dims.size() == 2) n.shape.dims.push_back(sa.dims[0]);
  if (sb.dims.size() == 2) n.shape.dims.push_back(sb.dims[1]);
  n.argCount = 2;
  n.args = {a, b, kNone};
  return add(std::move(n));
}

Id Graph::transpose(Id a) {
  const Node &x = nodes_[a];
  require(x.shape.dims.size() == 2, "transpose of a value that is not a matrix");
  if (x.kind == Kind::Transpose) return x.args[0];
  if (x.kind == Kind::Outer) return outer(x.args[1], x.args[0]);
  if (x.kind == Kind::Broadcast) return broadcast(x.args[0], Shape{{x.shape.dims[1], x.shape.dims[0]}});
  Node n;
  n.kind = Kind::Transpose;
  n.shape.dims = {x.shape.dims[1], x.shape.dims[0]};
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::outer(Id u, Id v) {
  require(nodes_[u].shape.dims.size() == 1 && nodes_[v].shape.dims.size() == 1,
          "outer product of values that are not vectors");
  Node n;
  n.kind = Kind::Outer;
  n.shape.dims = {nodes_[u].shape.dims[0], nodes_[v].shape.dims[0]};
  n.argCount = 2;
  n.args = {u, v, kNone};
  return add(std::move(n));
}

Id Graph::sum(Id a) {
  if (nodes_[a].shape.isScalar()) return a;
  if (nodes_[a].kind == Kind::Broadcast) {  // sum(broadcast(s)) = s * n
    const Id s = nodes_[a].args[0];
    return map(Op::Mul, s, constant(static_cast<double>(nodes_[a].shape.size())));
  }
  if (nodes_[a].kind == Kind::Embed) return sum(nodes_[a].args[0]);  // the zeros add nothing
  Node n;
  n.kind = Kind::Sum;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::reduce(Kind kind, Id a) {
  require(kind == Kind::Max || kind == Kind::Min || kind == Kind::LogSumExp || kind == Kind::Norm,
          "not a reduction");
  Node n;
  n.kind = kind;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::firstExtreme(Kind kind, Id a) {
  require(kind == Kind::FirstMax || kind == Kind::FirstMin, "not a mask of an extreme");
  Node n;
  n.kind = kind;
  n.shape = nodes_[a].shape;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::argExtreme(Kind kind, Id a) {
  require(kind == Kind::ArgMax || kind == Kind::ArgMin, "not an index of an extreme");
  Node n;
  n.kind = kind;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::softmax(Id a) {
  require(nodes_[a].shape.dims.size() == 1, "softmax of a value that is not a vector");
  Node n;
  n.kind = Kind::Softmax;
  n.shape = nodes_[a].shape;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::softmaxAdjoint(Id y, Id g) {
  require(nodes_[y].kind == Kind::Softmax, "the adjoint of softmax of a value that is not one");
  Node n;
  n.kind = Kind::SoftmaxAdjoint;
  n.shape = nodes_[y].shape;
  n.argCount = 2;
  n.args = {y, g, kNone};
  return add(std::move(n));
}

Id Graph::onehot(Id k, std::uint32_t count) {
  require(nodes_[k].shape.isScalar(), "onehot of a value that is not a scalar");
  Node n;
  n.kind = Kind::Onehot;
  n.shape.dims = {count};
  n.group = count;
  n.argCount = 1;
  n.args[0] = k;
  return add(std::move(n));
}

Id Graph::slice(Id a, std::vector<SliceDim> box) {
  const Shape &s = nodes_[a].shape;
  require(box.size() == s.dims.size(), "a slice with a box of the wrong rank");
  Node n;
  n.kind = Kind::Slice;
  bool whole = true;
  for (std::size_t d = 0; d < box.size(); ++d) {
    require(box[d].start + box[d].count <= s.dims[d] && (box[d].keep || box[d].count == 1),
            "a slice outside its operand");
    if (box[d].keep) n.shape.dims.push_back(box[d].count);
    whole = whole && box[d].keep && box[d].start == 0 && box[d].count == s.dims[d];
  }
  if (whole) return a;
  if (nodes_[a].kind == Kind::Broadcast) return broadcast(nodes_[a].args[0], n.shape);
  if (nodes_[a].kind == Kind::Slice) {  // a slice of a slice: one box of the first operand
    const Node &inner = nodes_[a];
    std::vector<SliceDim> composed = inner.box;
    std::size_t k = 0;  // the dimension of the inner slice's value
    for (SliceDim &d : composed) {
      if (!d.keep) continue;
      d.start += box[k].start;
      d.count = box[k].count;
      d.keep = box[k].keep;
      ++k;
    }
    return slice(inner.args[0], std::move(composed));
  }
  if (nodes_[a].kind == Kind::Const) {  // fold
    std::vector<double> values;
    const Node &x = nodes_[a];
    const std::size_t rank = box.size();
    std::vector<std::uint32_t> idx(rank, 0);
    const std::size_t total = n.shape.size();
    for (std::size_t e = 0; e < total; ++e) {
      std::size_t flat = 0;
      for (std::size_t d = 0; d < rank; ++d) flat = flat * s.dims[d] + box[d].start + idx[d];
      values.push_back(x.values[flat]);
      for (std::size_t d = rank; d-- > 0;) {
        if (++idx[d] < box[d].count) break;
        idx[d] = 0;
      }
    }
    return constant(n.shape, std::move(values));
  }
  n.box = std::move(box);
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::embed(Id a, const Shape &shape, std::vector<SliceDim> box) {
  require(box.size() == shape.dims.size(), "an embedding with a box of the wrong rank");
  Node n;
  n.kind = Kind::Embed;
  n.shape = shape;
  n.box = std::move(box);
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::stack(const std::vector<Id> &parts) {
  require(!parts.empty(), "an empty stack");
  const Shape &s = nodes_[parts[0]].shape;
  require(s.dims.size() < 2, "a stack of matrices");
  bool allConst = true;
  for (Id p : parts) {
    require(nodes_[p].shape == s, "a stack of values of different shapes");
    allConst = allConst && nodes_[p].kind == Kind::Const;
  }
  Shape shape;
  shape.dims.push_back(static_cast<std::uint32_t>(parts.size()));
  for (auto d : s.dims) shape.dims.push_back(d);
  if (allConst) {
    std::vector<double> values;
    for (Id p : parts) values.insert(values.end(), nodes_[p].values.begin(), nodes_[p].values.end());
    return constant(shape, std::move(values));
  }
  Node n;
  n.kind = Kind::Stack;
  n.shape = std::move(shape);
  n.parts = parts;
  for (Id p : parts)
    if (nodes_[p].batched) n.batched = true;
  return add(std::move(n));
}

Id Graph::broadcast(Id a, const Shape &shape) {
  require(nodes_[a].shape.isScalar(), "a broadcast of a value that is not a scalar");
  if (shape.isScalar()) return a;
  if (nodes_[a].kind == Kind::Const)
    return constant(shape, std::vector<double>(shape.size(), nodes_[a].values[0]));
  Node n;
  n.kind = Kind::Broadcast;
  n.shape = shape;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

Id Graph::batchSum(Id a) {
  const Node &x = nodes_[a];
  if (x.kind == Kind::Outer && nodes_[x.args[0]].batched && nodes_[x.args[1]].batched) {
    Node n;
    n.kind = Kind::OuterSum;
    n.shape = x.shape;
    n.argCount = 2;
    n.args = {x.args[0], x.args[1], kNone};
    return add(std::move(n));
  }
  Node n;
  n.kind = Kind::BatchSum;
  n.shape = x.shape;
  n.argCount = 1;
  n.args[0] = a;
  return add(std::move(n));
}

std::size_t unrolledCost(const Graph &graph, Id id) {
  const Node &n = graph[id];
  switch (n.kind) {
  case Kind::MatMul: {
    const Shape &a = graph[n.args[0]].shape;
    return std::max<std::size_t>(1, n.shape.size()) * a.dims.back();
  }
  case Kind::Sum:
  case Kind::Max:
  case Kind::Min:
  case Kind::ArgMax:
  case Kind::ArgMin:
  case Kind::Norm:
  case Kind::LogSumExp: return graph[n.args[0]].shape.size();
  case Kind::Param:
  case Kind::Input:
  case Kind::Const: return 0;
  default: return n.shape.size();
  }
}

}  // namespace nabla::array
