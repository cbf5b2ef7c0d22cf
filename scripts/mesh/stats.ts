/** Small statistics for judging measured traffic splits. */

function logChoose(n: number, k: number): number {
    let s = 0;
    for (let i = 1; i <= k; i++) {
        s += Math.log(n - k + i) - Math.log(i);
    }
    return s;
}

/**
 * The central `confidence` acceptance interval of a Binomial(n, p) count: the smallest [lo, hi] with
 * P(X < lo) <= (1 - confidence) / 2 and P(X > hi) <= (1 - confidence) / 2, computed exactly.
 * At n = 2000, p = 0.1, confidence 0.999: [157, 245].
 */
export function binomialInterval(n: number, p: number, confidence = 0.999): [number, number] {
    if (p <= 0) {
        return [0, 0];
    }
    if (p >= 1) {
        return [n, n];
    }
    const tail = (1 - confidence) / 2;
    const pmf = (k: number) => Math.exp(logChoose(n, k) + k * Math.log(p) + (n - k) * Math.log(1 - p));
    let cdf = 0;
    let lo = 0;
    for (let k = 0; k <= n; k++) {
        const next = cdf + pmf(k);
        if (next > tail) {
            lo = k;
            break;
        }
        cdf = next;
    }
    let sf = 0;
    let hi = n;
    for (let k = n; k >= 0; k--) {
        const next = sf + pmf(k);
        if (next > tail) {
            hi = k;
            break;
        }
        sf = next;
    }
    return [lo, hi];
}

/** The median of a non-empty list. */
export function median(xs: number[]): number {
    if (xs.length === 0) {
        throw new Error("median of nothing");
    }
    const s = [...xs].sort((a, b) => a - b);
    const m = Math.floor(s.length / 2);
    return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}
