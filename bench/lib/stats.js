'use strict';

function percentile(values, p) {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index];
}

const median = (values) => percentile(values, 50);

function round(value, digits = 1) {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

module.exports = { percentile, median, round };
