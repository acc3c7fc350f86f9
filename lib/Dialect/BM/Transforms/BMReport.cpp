//===- BMReport.cpp - Table of BM contractions ----------------------------===//

#include "ContractionMatchers.h"

#include "bm/Dialect/BM/IR/BMOps.h"
#include "bm/Dialect/BM/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::bm {
#define GEN_PASS_DEF_BMREPORT
#include "bm/Dialect/BM/Transforms/Passes.h.inc"
} // namespace mlir::bm

using namespace mlir;
using namespace mlir::bm;

namespace {

/// One row of the table.
struct ContractionRow {
  std::string op, lhs, rhs, roles, scales, source;
  int64_t maxRun;
  int width;
  // Bytes as double: exact below 2^53, and no int64 overflow for the
  // largest legal shapes.
  double f32Bytes, bmBytes;
};

std::string describe(BMTensorType type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << type.getFormat().getName() << " [";
  llvm::interleave(type.getBlock(), os, "x");
  os << "]";
  return s;
}

/// Scale rule of the bm.quantize that made `v` (through exact transposes),
/// or "-" when `v` comes from elsewhere.
/// The scale rule of the bm.quantize an operand comes from, through the
/// exact data movement bm-quantize-training puts after it: bm.transpose,
/// and a batch broadcast (bm.unpack, linalg.broadcast, bm.pack).
StringRef scaleRuleOf(Value v) {
  while (true) {
    if (auto transpose = v.getDefiningOp<TransposeOp>()) {
      v = transpose.getInput();
      continue;
    }
    if (auto pack = v.getDefiningOp<PackOp>()) {
      Value codes = pack.getCodes();
      if (auto broadcast = codes.getDefiningOp<linalg::BroadcastOp>())
        codes = broadcast.getInput();
      if (auto unpack = codes.getDefiningOp<UnpackOp>()) {
        v = unpack.getInput();
        continue;
      }
    }
    break;
  }
  if (auto quantize = v.getDefiningOp<QuantizeOp>())
    return stringifyScaleRule(quantize.getScale());
  return "-";
}

double bmBytes(BMTensorType type) {
  return double(type.getNumElements()) * (type.getCodeBitWidth() / 8) +
         double(type.getNumBlocks());
}

template <typename OpTy>
ContractionRow makeRow(OpTy op, Value lhsValue, Value rhsValue) {
  auto lhs = cast<BMTensorType>(lhsValue.getType());
  auto rhs = cast<BMTensorType>(rhsValue.getType());
  // Roles set by bm-quantize-training, e.g. "error*weight".
  std::string roles = "-";
  Operation *operation = op.getOperation();
  auto *dialect = operation->getContext()->getLoadedDialect<BMDialect>();
  if (ArrayAttr attr = dialect->getRolesAttrHelper().getAttr(operation)) {
    roles.clear();
    llvm::raw_string_ostream os(roles);
    llvm::interleave(
        attr.getAsRange<RoleAttr>(), os,
        [&](RoleAttr role) { os << stringifyRole(role.getValue()); }, "*");
  }
  // The FP32 op it replaces, e.g. "linalg.conv_2d_nhwc_fhwc", which
  // bm-quantize-training records in the location.
  std::string source = "-";
  if (auto fused = dyn_cast<FusedLoc>(operation->getLoc()))
    if (auto name = dyn_cast_or_null<StringAttr>(fused.getMetadata()))
      if (name.getValue().starts_with("linalg."))
        source = name.getValue().str();
  return {op->getName().getStringRef().str(),
          describe(lhs),
          describe(rhs),
          roles,
          (scaleRuleOf(lhsValue) + "*" + scaleRuleOf(rhsValue)).str(),
          source,
          op.getMaxRunLength(),
          op.getKulischWidth(),
          4 * (double(lhs.getNumElements()) + double(rhs.getNumElements())),
          bmBytes(lhs) + bmBytes(rhs)};
}

struct BMReportPass : public mlir::bm::impl::BMReportBase<BMReportPass> {
  using Base::Base;

  void runOnOperation() override {
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file;
    llvm::raw_ostream *os = &llvm::errs();
    if (output != "-") {
      file = openOutputFile(output, &error);
      if (!file) {
        mlir::emitError(getOperation().getLoc(), "bm-report: cannot open '")
            << output << "': " << error;
        return signalPassFailure();
      }
      os = &file->os();
    }

    getOperation().walk([&](FunctionOpInterface func) {
      SmallVector<ContractionRow> rows;
      // Contractions still in FP32, and whether bm-quantize-training can
      // rewrite their form (then an option or their roles kept them: see
      // its remarks) or why not.
      SmallVector<std::string> kept;
      func.walk([&](Operation *op) {
        auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
        if (linalgOp && training::isContractionOrConvolution(linalgOp)) {
          training::ContractionMatch match =
              training::matchContraction(linalgOp);
          kept.push_back((op->getName().getStringRef() + ": " +
                          (match.plan ? "rewritable form (kept by keep-fp32, "
                                        "min-macs, loss-grad or roles)"
                                      : "not rewritable: " + match.reason))
                             .str());
        }
        if (auto matmul = dyn_cast<MatmulOp>(op))
          rows.push_back(makeRow(matmul, matmul.getLhs(), matmul.getRhs()));
        else if (auto conv = dyn_cast<Conv2DOp>(op))
          rows.push_back(makeRow(conv, conv.getInput(), conv.getFilter()));
      });
      if (rows.empty() && kept.empty())
        return;
      *os << "bm-report: @" << func.getName() << ": " << rows.size()
          << " BM contraction" << (rows.size() == 1 ? "" : "s");
      if (!kept.empty())
        *os << ", " << kept.size() << " in FP32";
      *os << "\n";
      for (const std::string &line : kept)
        *os << "  fp32 " << line << "\n";
      if (rows.empty())
        return;
      *os << llvm::format(
          "  %-10s %-22s %-22s %8s %8s %6s %12s %12s  %-21s  %-11s  %s\n", "op",
          "lhs", "rhs", "max-run", "kulisch", "acc", "f32-bytes", "bm-bytes",
          "roles", "scale", "from");
      double totalF32 = 0, totalBM = 0;
      for (const ContractionRow &row : rows) {
        int storage = ::bm::numerics::kulischStorageBits(row.width);
        std::string acc = storage ? "i" + std::to_string(storage) : "none";
        *os << llvm::format("  %-10s %-22s %-22s %8lld %8d %6s %12.0f %12.0f  "
                            "%-21s  %-11s  %s\n",
                            row.op.c_str(), row.lhs.c_str(), row.rhs.c_str(),
                            (long long)row.maxRun, row.width, acc.c_str(),
                            row.f32Bytes, row.bmBytes, row.roles.c_str(),
                            row.scales.c_str(), row.source.c_str());
        totalF32 += row.f32Bytes;
        totalBM += row.bmBytes;
      }
      *os << llvm::format("  operand memory: %.0f bytes as f32, %.0f bytes "
                          "as BM (%.2fx smaller)\n",
                          totalF32, totalBM,
                          totalBM ? totalF32 / totalBM : 0.0);
    });
    if (file)
      file->keep();
    markAllAnalysesPreserved();
  }
};

} // namespace
