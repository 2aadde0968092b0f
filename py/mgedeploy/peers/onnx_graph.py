"""Builds an ONNX graph from our MegEngine model definitions and weights (no converter needed).

The benchmark compares Lite with ONNX Runtime on the same weights. There is no offline
MegEngine-to-ONNX converter here, so the graph is written op by op from the same modules: each
convolution with its BatchNorm folded in (exact up to float rounding; ONNX Runtime folds BN the
same way), ReLU / ReLU6 (Clip), residual Add, ShuffleNetV2's channel split (Reshape + Gather) and
concat, global average pooling, the classifier Gemm, and Softmax. TF "SAME" padding becomes the
Conv's own asymmetric `pads`. Also counts the model's multiply-accumulates (MACs).
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper, shape_inference

from mgedeploy.models import efficientnet_lite, snetv2

OPSET = 17


class _Graph:
    def __init__(self, input_name, input_shape):
        self.nodes, self.inits, self.count = [], [], 0
        self.input = helper.make_tensor_value_info(input_name, TensorProto.FLOAT, list(input_shape))

    def name(self, prefix):
        self.count += 1
        return "%s_%d" % (prefix, self.count)

    def const(self, array, prefix="w"):
        name = self.name(prefix)
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def constant(self, array):
        """A Constant node (not an initializer): shape inference sees through it."""
        return self.op("Constant", [], value=numpy_helper.from_array(np.asarray(array)))

    def op(self, op_type, inputs, **attrs):
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def conv_bn(self, x, conv, bn, act=None, pads=None):
        """Conv (MegEngine module) with BatchNorm (module or None) folded in, then an activation."""
        w = np.array(conv.weight.numpy(), np.float32)
        groups = conv.groups
        if w.ndim == 5:  # MegEngine grouped weights: (groups, out/g, in/g, kh, kw)
            w = w.reshape(w.shape[0] * w.shape[1], *w.shape[2:])
        b = np.zeros(w.shape[0], np.float32) if conv.bias is None else conv.bias.numpy().reshape(-1)
        if bn is not None:
            scale = bn.weight.numpy().reshape(-1) / np.sqrt(bn.running_var.numpy().reshape(-1) + bn.eps)
            w = w * scale.reshape(-1, 1, 1, 1)
            b = (b - bn.running_mean.numpy().reshape(-1)) * scale + bn.bias.numpy().reshape(-1)
        stride = list(conv.stride) if isinstance(conv.stride, tuple) else [conv.stride] * 2
        if pads is None:
            p = conv.padding if isinstance(conv.padding, tuple) else (conv.padding, conv.padding)
            pads = [p[0], p[1], p[0], p[1]]
        y = self.op("Conv", [x, self.const(w.astype(np.float32)), self.const(b.astype(np.float32), "b")],
                    strides=stride, pads=pads, group=groups, kernel_shape=list(w.shape[2:]))
        if act == "relu":
            y = self.op("Relu", [y])
        elif act == "relu6":
            y = self.op("Clip", [y, self.const(np.array(0, np.float32), "min"), self.const(np.array(6, np.float32), "max")])
        return y

    def classifier(self, x, fc):
        x = self.op("Flatten", [self.op("GlobalAveragePool", [x])], axis=1)
        w = fc.weight.numpy().astype(np.float32)
        inputs = [x, self.const(w)]
        if fc.bias is not None:
            inputs.append(self.const(fc.bias.numpy().reshape(-1).astype(np.float32), "b"))
        logits = self.op("Gemm", inputs, transB=1)
        return self.op("Softmax", [logits], axis=1)

    def model(self, output, output_name):
        self.nodes.append(helper.make_node("Identity", [output], [output_name]))
        out = helper.make_tensor_value_info(output_name, TensorProto.FLOAT, [self.input.type.tensor_type.shape.dim[0].dim_value, 1000])
        graph = helper.make_graph(self.nodes, "megdeploy", [self.input], [out], self.inits)
        proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="megdeploy")
        proto.ir_version = 8  # readable by onnxruntime 1.23
        onnx.checker.check_model(proto)
        return proto


def _efficientnet(model, g, x):
    def same(module, size):
        before, after = efficientnet_lite.same_padding(size, module.conv.kernel_size[0], module.conv.stride[0])
        return [before, before, after, after]

    size = efficientnet_lite.INPUT_SIZE
    x = g.conv_bn(x, model.conv_stem.conv, model.bn0, "relu6", pads=same(model.conv_stem, size))
    size = model.conv_stem.output_size
    for block in model.blocks:
        inputs = x
        if block.expand_conv is not None:
            x = g.conv_bn(x, block.expand_conv, block.bn0, "relu6")
        x = g.conv_bn(x, block.depthwise_conv.conv, block.bn1, "relu6", pads=same(block.depthwise_conv, size))
        x = g.conv_bn(x, block.project_conv, block.bn2)
        if block.residual:
            x = g.op("Add", [x, inputs])
        size = block.output_size
    x = g.conv_bn(x, model.conv_head, model.bn1, "relu6")
    return g.classifier(x, model.fc)


def _shufflenet(model, g, x):
    def seq(x, layers):
        """Runs an M.Sequential of conv, BN, optional ReLU triples as folded convs."""
        mods = list(layers)
        i = 0
        while i < len(mods):
            conv, bn = mods[i], mods[i + 1]
            relu = i + 2 < len(mods) and type(mods[i + 2]).__name__ == "ReLU"
            x = g.conv_bn(x, conv, bn, "relu" if relu else None)
            i += 3 if relu else 2
        return x

    x = g.conv_bn(x, model.stem.conv, model.stem.bn, "relu")
    x = g.op("MaxPool", [x], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    size, channels = 56, snetv2.STEM_WIDTH
    for stage, width in enumerate(snetv2.WIDTHS):
        for block in getattr(model, "stage%d" % stage):
            if block.stride == 2:
                proj, main = seq(x, block.branch_proj), seq(x, block.branch_main)
                size //= 2
            else:
                # basecls' channel split: even channels pass through, odd ones enter the main branch.
                pairs = g.op("Reshape", [x, g.constant(np.array([1, channels // 2, 2, size, size], np.int64))])
                proj = g.op("Gather", [pairs, g.constant(np.array(0, np.int64))], axis=2)
                main = seq(g.op("Gather", [pairs, g.constant(np.array(1, np.int64))], axis=2), block.branch_main)
            x = g.op("Concat", [proj, main], axis=1)
            channels = width
    head = model.head
    x = g.conv_bn(x, head.conv, head.bn, "relu")
    return g.classifier(x, head.fc)


def build(model_name, model, input_name="data", input_shape=(1, 3, 224, 224)):
    """An onnx.ModelProto computing softmax(model(input)) with the model's current weights."""
    g = _Graph(input_name, input_shape)
    body = {"efficientnet_lite0": _efficientnet, "snetv2_x100": _shufflenet}[model_name]
    return g.model(body(model, g, input_name), "probabilities")


def count_macs(proto):
    """Multiply-accumulates of the Conv and Gemm nodes, from ONNX shape inference."""
    inferred = shape_inference.infer_shapes(proto)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output)}
    weights = {t.name: list(t.dims) for t in proto.graph.initializer}
    macs = 0
    for node in proto.graph.node:
        if node.op_type == "Conv":
            out = shapes[node.output[0]]
            w = weights[node.input[1]]  # (out, in / groups, kh, kw)
            macs += int(np.prod(out)) * w[1] * w[2] * w[3]
        elif node.op_type == "Gemm":
            w = weights[node.input[1]]
            macs += shapes[node.input[0]][0] * w[0] * w[1]
    return macs
