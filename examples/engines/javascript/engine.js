#!/usr/bin/env node
// A bpcheck engine in JavaScript: the engine protocol (docs/protocol.md) over stdin/stdout,
// and backpropagation written out one weight at a time in float64 (JavaScript's only number).
//
// It does everything bpcheck's problem model has: the activations identity, sigmoid, tanh, relu
// and softmax, the losses half_sse, sse, mse, bce and softmax_ce, no/shared/per-neuron biases,
// full and per-sample batches, simultaneous and sequential updates, with bpcheck's conventions
// for NaN and infinities (docs/engines.md). Diagnostics go to stderr: stdout carries replies.
"use strict";

const readline = require("readline");

const PROTOCOL = 1;
const ACTIVATIONS = ["identity", "sigmoid", "tanh", "relu", "softmax"];
const LOSSES = ["half_sse", "sse", "mse", "bce", "softmax_ce"];
const CAPABILITIES = [
  ...ACTIVATIONS.map((a) => `activation:${a}`),
  ...LOSSES.map((l) => `loss:${l}`),
  "bias:none", "bias:shared", "bias:per_neuron",
  "batch:full", "batch:per_sample",
  "order:simultaneous", "order:sequential",
];

// --- the maths -------------------------------------------------------------------------

function sigmoid(x) {
  // below -700 e^-x overflows; sigmoid(x) is e^x to float64 precision there
  return x < -700 ? Math.exp(x) : 1 / (1 + Math.exp(-x));
}

function activate(name, x) {
  switch (name) {
    case "identity": return x;
    case "sigmoid": return sigmoid(x);
    case "tanh": return Math.tanh(x);
    case "relu": return x <= 0 ? 0 : x; // NaN is not <= 0: relu(NaN) is NaN
  }
  throw new Error(`unknown activation ${name}`);
}

function activateLayer(name, nets) {
  if (name !== "softmax") return nets.map((v) => activate(name, v));
  const top = Math.max(...nets); // shifted by the largest: no overflow
  const exps = nets.map((v) => Math.exp(v - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

function tLog(t, o) {
  // t log o, 0 when t is 0 (the cross-entropies' limit); log 0 is -Infinity, never an error
  const logO = o > 0 ? Math.log(o) : o === 0 ? -Infinity : NaN;
  return t === 0 ? 0 : t * logO;
}

function tOver(t, o) {
  // t / o, 0 when t is 0 (the derivative of t log o); t / 0 is an infinity of t's sign times o's
  if (t === 0) return 0;
  if (o !== 0) return t / o;
  const sign = (t < 0 ? -1 : 1) * (Object.is(o, -0) ? -1 : 1);
  return sign * Infinity;
}

function slope(name, out) {
  // d out / d net, written from the output as the tutorials do; relu'(0) is 0; softmax: diagonal
  switch (name) {
    case "identity": return 1;
    case "sigmoid":
    case "softmax": return out * (1 - out);
    case "tanh": return 1 - out * out;
    case "relu": return out <= 0 ? 0 : 1;
  }
  throw new Error(`unknown activation ${name}`);
}

function lossTerm(loss, t, o, scale) {
  const e = t - o;
  switch (loss) {
    case "half_sse": return 0.5 * (e * e);
    case "sse": return e * e;
    case "mse": return (e * e) / scale;
    case "bce": return -(tLog(t, o) + tLog(1 - t, 1 - o));
    case "softmax_ce": return -tLog(t, o);
  }
  throw new Error(`unknown loss ${loss}`);
}

function lossSlope(loss, t, o, scale) {
  // d term / d out
  switch (loss) {
    case "half_sse": return -(t - o);
    case "sse": return -2 * (t - o);
    case "mse": return (-2 * (t - o)) / scale;
    case "bce": return -tOver(t, o) + tOver(1 - t, 1 - o);
    case "softmax_ce": return -tOver(t, o);
  }
  throw new Error(`unknown loss ${loss}`);
}

function biasesOf(layer, bias) {
  // the bias each neuron adds: none, one shared, or its own
  const n = layer.weights.length;
  if (layer.bias.kind === "none") return new Array(n).fill(0);
  if (layer.bias.kind === "shared") return new Array(n).fill(bias[0]);
  return bias;
}

function forward(problem, params, x) {
  const nets = [[]];
  const outs = [x.slice()];
  problem.layers.forEach((layer, l) => {
    const below = outs[outs.length - 1];
    const biases = biasesOf(layer, params.b[l]);
    const net = params.w[l].map((row, j) => {
      let total = biases[j];
      row.forEach((w, i) => { total += w * below[i]; });
      return total;
    });
    nets.push(net);
    outs.push(activateLayer(layer.activation, net));
  });
  return { nets, outs };
}

function backThroughWeights(weights, dNet) {
  const total = new Array(weights[0].length).fill(0);
  dNet.forEach((d, j) => weights[j].forEach((w, i) => { total[i] += d * w; }));
  return total;
}

function delta(activation, outs, dOut) {
  if (activation === "relu") return dOut.map((g, j) => (outs[j] <= 0 ? 0 : g));
  if (activation === "softmax") {
    // d/dnet_b = sum over a of d/dout_a * out_a * ([a == b] - out_b)
    return outs.map((_, b) => dOut.reduce(
      (sum, g, a) => sum + g * (outs[a] * ((a === b ? 1 : 0) - outs[b])), 0));
  }
  return dOut.map((g, j) => g * slope(activation, outs[j]));
}

function batchOf(problem, step) {
  const n = problem.inputs.length;
  return problem.batch === "full" ? [...Array(n).keys()] : [step % n];
}

function update(problem, params, l, gradW, gradB) {
  const rate = problem.learning_rate;
  params.w[l] = params.w[l].map((row, j) => row.map((w, i) => w - rate * gradW[j][i]));
  if (problem.layers[l].bias.trainable) {
    params.b[l] = params.b[l].map((b, j) => b - rate * gradB[j]);
  }
}

// One step: forward over the batch, back-propagate from the top, record, update.
function step(problem, params, k, recording, updating) {
  const v = {};
  const layers = problem.layers;
  const top = layers.length - 1;
  const batch = batchOf(problem, k);
  const nOut = layers[top].weights.length;
  const scale = nOut * batch.length;
  const passes = batch.map((s) => forward(problem, params, problem.inputs[s]));
  if (recording) {
    layers.forEach((layer, l) => {
      params.w[l].forEach((row, j) => row.forEach((w, i) => { v[`w[${l + 1},${j + 1},${i + 1}]`] = w; }));
      if (layer.bias.kind === "shared") v[`b[${l + 1}]`] = params.b[l][0];
      if (layer.bias.kind === "per_neuron") params.b[l].forEach((b, j) => { v[`b[${l + 1},${j + 1}]`] = b; });
    });
    let loss = 0;
    batch.forEach((s, p) => {
      const f = passes[p];
      const at = `@${s + 1}`;
      f.outs[0].forEach((x, i) => { v[`out[0,${i + 1}]${at}`] = x; });
      layers.forEach((layer, l) => {
        f.nets[l + 1].forEach((net, j) => {
          const out = f.outs[l + 1][j];
          v[`net[${l + 1},${j + 1}]${at}`] = net;
          v[`out[${l + 1},${j + 1}]${at}`] = out;
          v[`dout_dnet[${l + 1},${j + 1}]${at}`] = slope(layer.activation, out);
        });
      });
      problem.targets[s].forEach((t, k2) => {
        const term = lossTerm(problem.loss, t, f.outs[top + 1][k2], scale);
        v[`E[${k2 + 1}]${at}`] = term;
        loss += term;
      });
    });
    v.E = loss;
  }
  // dE/dout at the output, and each output's term alone (for the dE[k]_d... partials)
  let dOuts = batch.map((s, p) =>
    problem.targets[s].map((t, k2) => lossSlope(problem.loss, t, passes[p].outs[top + 1][k2], scale)));
  let termOuts = dOuts.map((g) => g.map((gk, k2) => g.map((_, j) => (j === k2 ? gk : 0))));
  const pending = [];
  for (let l = top; l >= 0; l--) {
    const layer = layers[l];
    const deltas = dOuts.map((d, p) => delta(layer.activation, passes[p].outs[l + 1], d));
    const termDeltas = termOuts.map((ds, p) => ds.map((d) => delta(layer.activation, passes[p].outs[l + 1], d)));
    const gradW = params.w[l].map((row) => row.map(() => 0));
    const perNeuron = new Array(params.w[l].length).fill(0);
    deltas.forEach((d, p) => {
      const below = passes[p].outs[l];
      d.forEach((dj, j) => {
        perNeuron[j] += dj;
        below.forEach((o, i) => { gradW[j][i] += dj * o; });
      });
    });
    const gradB = layer.bias.kind === "shared" ? [perNeuron.reduce((a, b) => a + b, 0)]
      : layer.bias.kind === "per_neuron" ? perNeuron : [];
    if (recording) {
      batch.forEach((s, p) => {
        const at = `@${s + 1}`;
        deltas[p].forEach((d, j) => {
          v[`dE_dout[${l + 1},${j + 1}]${at}`] = dOuts[p][j];
          v[`delta[${l + 1},${j + 1}]${at}`] = d;
        });
        termOuts[p].forEach((d, k2) => d.forEach((g, j) => {
          v[`dE[${k2 + 1}]_dout[${l + 1},${j + 1}]${at}`] = g;
          v[`dE[${k2 + 1}]_dnet[${l + 1},${j + 1}]${at}`] = termDeltas[p][k2][j];
        }));
      });
      gradW.forEach((row, j) => row.forEach((g, i) => { v[`dE_dw[${l + 1},${j + 1},${i + 1}]`] = g; }));
      if (layer.bias.kind === "shared") v[`dE_db[${l + 1}]`] = gradB[0];
      if (layer.bias.kind === "per_neuron") gradB.forEach((g, j) => { v[`dE_db[${l + 1},${j + 1}]`] = g; });
    }
    if (updating && problem.update_order === "sequential") update(problem, params, l, gradW, gradB);
    else pending.push([l, gradW, gradB]);
    // sequential: the layer below gets its deltas through this layer's new weights
    const weights = params.w[l];
    dOuts = deltas.map((d) => backThroughWeights(weights, d));
    termOuts = termDeltas.map((ds) => ds.map((d) => backThroughWeights(weights, d)));
  }
  if (updating) pending.forEach(([l, gw, gb]) => update(problem, params, l, gw, gb));
  return v;
}

function run(problem, record) {
  for (const layer of problem.layers) {
    if (!ACTIVATIONS.includes(layer.activation)) return { cannot: `no ${layer.activation} activation here` };
  }
  if (!LOSSES.includes(problem.loss)) return { cannot: `no ${problem.loss} loss here` };
  const params = {
    w: problem.layers.map((layer) => layer.weights.map((row) => row.slice())),
    b: problem.layers.map((layer) => layer.bias.values.slice()),
  };
  const wanted = new Set(record);
  const trace = {};
  for (let k = 0; k <= problem.steps; k++) {
    const recording = wanted.has(k);
    if (!recording && k === problem.steps) break;
    const values = step(problem, params, k, recording, k < problem.steps);
    if (recording) trace[String(k)] = values;
  }
  return { trace };
}

// --- the protocol ----------------------------------------------------------------------

function nonFinite(key, value) {
  // JSON has no NaN or infinity: the protocol writes them as strings
  if (typeof value === "number" && !Number.isFinite(value)) {
    return Number.isNaN(value) ? "NaN" : value > 0 ? "Infinity" : "-Infinity";
  }
  return value;
}

function reply(message) {
  process.stdout.write(JSON.stringify(message, nonFinite) + "\n");
}

const input = readline.createInterface({ input: process.stdin, terminal: false });
input.on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch (error) {
    reply({ reply: "error", message: `not JSON: ${error.message}` });
    return;
  }
  if (request.request === "start") {
    if (request.protocol !== PROTOCOL) {
      reply({ reply: "error", message: `this engine speaks protocol ${PROTOCOL}, not ${request.protocol}` });
      return;
    }
    reply({ reply: "started", protocol: PROTOCOL, name: "javascript-example", version: "1",
      capabilities: CAPABILITIES });
  } else if (request.request === "run") {
    try {
      const result = run(request.problem, request.record);
      if (result.cannot) reply({ reply: "cannot run", id: request.id, reason: result.cannot });
      else reply({ reply: "trace", id: request.id, trace: result.trace });
    } catch (error) {
      process.stderr.write(`${error.stack}\n`);
      reply({ reply: "error", id: request.id, message: String(error) });
    }
  } else if (request.request === "stop") {
    input.close();
  } else {
    reply({ reply: "error", message: `unknown request ${JSON.stringify(request.request)}` });
  }
});
input.on("close", () => process.exit(0));
