/**
 * The few statistics the hunt's reasoning needs, written out so their behaviour is plain: a
 * least-squares line with its t statistic and one-sided p-value (Student's t, with the degrees of
 * freedom of autocorrelated points corrected), Holm's step-down
 * correction for testing many tags at once, and Wilson's interval for a proportion.
 */

/** A least-squares line of y over x. */
export interface LineFit {
  /** Points fitted. */
  n: number;
  slope: number;
  intercept: number;
  /** Standard error of the slope (0 for a perfect line). */
  standardError: number;
  /** slope / standardError; ±Infinity for a perfect rising or falling line, 0 for a flat one. */
  t: number;
  /** Degrees of freedom of t: n − 2, or the effective number of points − 2 when the residuals are autocorrelated. */
  df: number;
  /** One-sided p-value of "the slope is above 0". */
  pRising: number;
  /** Lag-1 autocorrelation of the residuals, when it was positive and acted on. */
  lag1?: number;
  /** The effective number of independent points it leaves, n(1 − lag1)/(1 + lag1). */
  effectiveN?: number;
}

/**
 * Fit y = intercept + slope·x by least squares and test the slope against 0 (one-sided, rising).
 * With `autocorrelation`, points that move together count as fewer (below).
 */
export function fitLine(xs: ArrayLike<number>, ys: ArrayLike<number>, options: { autocorrelation?: boolean } = {}): LineFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { n, slope: 0, intercept: 0, standardError: 0, t: 0, df: 0, pRising: 1 };
  let meanX = 0;
  let meanY = 0;
  for (let i = 0; i < n; i++) {
    meanX += xs[i]!;
    meanY += ys[i]!;
  }
  meanX /= n;
  meanY /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (xs[i]! - meanX) ** 2;
    sxy += (xs[i]! - meanX) * (ys[i]! - meanY);
  }
  if (sxx === 0) return { n, slope: 0, intercept: meanY, standardError: 0, t: 0, df: Math.max(0, n - 2), pRising: 1 };
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const df = n - 2;
  const sign = slope > 0 ? 1 : slope < 0 ? -1 : 0;
  if (df < 1) return { n, slope, intercept, standardError: 0, t: sign * Infinity || 0, df: 0, pRising: 1 };
  let residual = 0;
  for (let i = 0; i < n; i++) residual += (ys[i]! - (intercept + slope * xs[i]!)) ** 2;
  // A residual below rounding noise of the values is a perfect line.
  let scale = 1;
  for (let i = 0; i < n; i++) scale = Math.max(scale, Math.abs(ys[i]!));
  const independent = residual <= (scale * 1e-12) ** 2 * n ? 0 : Math.sqrt(residual / df / sxx);
  if (independent === 0) return { n, slope, intercept, standardError: 0, t: sign * Infinity || 0, df, pRising: sign > 0 ? 0 : 1 };
  // Points taken closer together than the values' memory (blocks that live longer than the
  // spacing) are not independent: positively autocorrelated residuals make the plain standard
  // error too small. The effective number of points, n(1 − r₁)/(1 + r₁) for the residuals'
  // lag-1 autocorrelation r₁, widens the error and lowers the degrees of freedom (the AR(1)
  // correction of trend tests). r₁ of fewer than AUTOCORRELATION_MIN_POINTS residuals is too
  // noisy to act on; a negative r₁ is taken as none.
  const r1 = options.autocorrelation && n >= AUTOCORRELATION_MIN_POINTS ? Math.max(0, lag1(xs, ys, n, intercept, slope) / residual) : 0;
  const effectiveN = (n * (1 - r1)) / (1 + r1);
  if (effectiveN <= 2) return { n, slope, intercept, standardError: Infinity, t: 0, df: 0, pRising: 1, lag1: r1, effectiveN };
  // With r₁ = 0 the effective number is n itself: the plain error and n − 2 degrees of freedom.
  const standardError = independent * Math.sqrt(df / (effectiveN - 2));
  const t = slope / standardError;
  return { n, slope, intercept, standardError, t, df: effectiveN - 2, pRising: studentTUpper(t, effectiveN - 2), ...(r1 > 0 && { lag1: r1, effectiveN }) };
}

/** Fewest points whose residuals' lag-1 autocorrelation fitLine acts on. */
export const AUTOCORRELATION_MIN_POINTS = 8;

// Σ e[i−1]·e[i] over the residuals of a line.
function lag1(xs: ArrayLike<number>, ys: ArrayLike<number>, n: number, intercept: number, slope: number): number {
  let sum = 0;
  let previous = ys[0]! - (intercept + slope * xs[0]!);
  for (let i = 1; i < n; i++) {
    const current = ys[i]! - (intercept + slope * xs[i]!);
    sum += previous * current;
    previous = current;
  }
  return sum;
}

/** P(T > t) for Student's t with `df` degrees of freedom. */
export function studentTUpper(t: number, df: number): number {
  if (Number.isNaN(t) || df <= 0) return 1;
  if (t === Infinity) return 0;
  if (t === -Infinity) return 1;
  const x = df / (df + t * t);
  const tail = 0.5 * regularizedBeta(x, df / 2, 0.5);
  return t >= 0 ? tail : 1 - tail;
}

/** The t value with P(T > t) = p (bisection; for reports and thresholds, not hot paths). */
export function studentTQuantile(p: number, df: number): number {
  let lo = -1e3;
  let hi = 1e6;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (studentTUpper(mid, df) > p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

// ln Γ(x), Lanczos approximation (g = 7, n = 9).
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0]!;
  for (let i = 1; i < 9; i++) sum += c[i]! / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** I_x(a, b), the regularized incomplete beta function (continued fraction, Lentz's method). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use symmetry otherwise.
  if (x > (a + 1) / (a + b + 2)) return 1 - regularizedBeta(1 - x, b, a);
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let f = d;
  for (let m = 1; m <= 300; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    f *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-14) break;
  }
  return (front * f) / a;
}

/**
 * Holm's step-down procedure: which of the p-values are significant with the family-wise error
 * rate (the chance that any true null is rejected) at most `alpha`, whatever their dependence.
 */
export function holm(pValues: readonly number[], alpha: number): boolean[] {
  const thresholds = holmThresholds(pValues, alpha);
  return pValues.map((p, i) => p <= thresholds[i]!);
}

/**
 * The threshold each p-value met or missed in Holm's step-down procedure: `alpha / (m − rank)`
 * (rank 0 the smallest p) up to the first p that missed its threshold; every larger p stopped there
 * too, so it carries that threshold.
 */
export function holmThresholds(pValues: readonly number[], alpha: number): number[] {
  const m = pValues.length;
  const thresholds = new Array<number>(m).fill(alpha);
  let stopped: number | undefined;
  pValues.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p).forEach(({ p, i }, k) => {
    thresholds[i] = stopped ?? alpha / (m - k);
    if (stopped === undefined && p > alpha / (m - k)) stopped = alpha / (m - k);
  });
  return thresholds;
}

/** Wilson's score interval of a proportion `successes / trials` at `z` (1.96: 95%). */
export function wilson(successes: number, trials: number, z = 1.96): { low: number; high: number } {
  if (trials <= 0) return { low: 0, high: 1 };
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials))) / denominator;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/** The median of numbers (NaN for none). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The q-quantile (0..1) of numbers, nearest rank (NaN for none). */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
