//! Durations between stage entries: count, exact sum and quantiles in bounded memory.
//!
//! Every value is kept while a distribution holds at most [`EXACT`] of them, so small
//! reports (and every test) have exact medians. Past that the values move into logarithmic
//! buckets of ratio [`GAMMA`]: memory stays a few thousand counters whatever the number of
//! leads, and a quantile is off by at most half a bucket, 0.5% of its value. Durations under a
//! second share one bucket read as 0. Counts only ever add up, so the result does not depend
//! on the order values arrive in, nor on how many threads evaluated the leads.

use std::collections::BTreeMap;

/// Values kept exactly before the distribution turns into buckets.
pub const EXACT: usize = 4096;
/// The ratio between bucket bounds: a value is reported within ±0.5% of itself.
pub const GAMMA: f64 = 1.01;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dist {
    count: u64,
    /// Milliseconds, exact.
    sum: i128,
    exact: Vec<i64>,
    /// Bucket index → count, once more than [`EXACT`] values were seen.
    buckets: BTreeMap<i32, u64>,
    bucketed: bool,
}

fn bucket(ms: i64) -> i32 {
    if ms < 1000 {
        return i32::MIN;
    }
    ((ms as f64).ln() / GAMMA.ln()).ceil() as i32
}

/// The value a bucket stands for: the point within ±(γ−1)/(γ+1) of every value in it.
fn value_of(b: i32) -> f64 {
    if b == i32::MIN {
        return 0.0;
    }
    2.0 * GAMMA.powi(b) / (GAMMA + 1.0)
}

impl Dist {
    pub fn add(&mut self, ms: i64) {
        let ms = ms.max(0);
        self.count += 1;
        self.sum += i128::from(ms);
        if self.bucketed {
            *self.buckets.entry(bucket(ms)).or_insert(0) += 1;
            return;
        }
        self.exact.push(ms);
        if self.exact.len() > EXACT {
            for v in std::mem::take(&mut self.exact) {
                *self.buckets.entry(bucket(v)).or_insert(0) += 1;
            }
            self.bucketed = true;
        }
    }

    /// Adds another distribution's values. The result is the one adding each value would
    /// give: bucketed exactly when the total count passes [`EXACT`].
    pub fn merge(&mut self, other: Dist) {
        self.count += other.count;
        self.sum += other.sum;
        if !self.bucketed && !other.bucketed && self.exact.len() + other.exact.len() <= EXACT {
            self.exact.extend(other.exact);
            return;
        }
        for v in std::mem::take(&mut self.exact)
            .into_iter()
            .chain(other.exact)
        {
            *self.buckets.entry(bucket(v)).or_insert(0) += 1;
        }
        for (b, n) in other.buckets {
            *self.buckets.entry(b).or_insert(0) += n;
        }
        self.bucketed = true;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether quantiles are exact.
    pub fn is_exact(&self) -> bool {
        !self.bucketed
    }

    /// The mean in milliseconds; `None` without values.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The nearest-rank quantile in milliseconds (`q` in (0, 1]): the value at rank
    /// ⌈q·n⌉ in sorted order, so the median of an even count is the lower middle value.
    /// `None` without values.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        if !self.bucketed {
            let mut v = self.exact.clone();
            v.sort_unstable();
            return v.get(rank as usize - 1).map(|x| *x as f64);
        }
        let mut seen = 0;
        for (b, n) in &self.buckets {
            seen += n;
            if seen >= rank {
                return Some(value_of(*b));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn empty_has_no_mean_nor_quantiles() {
        let d = Dist::default();
        assert_eq!(d.mean(), None);
        assert_eq!(d.quantile(0.5), None);
    }

    #[test]
    fn one_value_is_every_quantile() {
        let mut d = Dist::default();
        d.add(7);
        assert_eq!(d.mean(), Some(7.0));
        assert_eq!(d.quantile(0.5), Some(7.0));
        assert_eq!(d.quantile(0.9), Some(7.0));
    }

    #[test]
    fn nearest_rank_quantiles() {
        let mut d = Dist::default();
        for v in [5, 1, 4, 2, 3, 10, 9, 8, 7, 6] {
            d.add(v);
        }
        assert_eq!(d.mean(), Some(5.5));
        assert_eq!(d.quantile(0.5), Some(5.0));
        assert_eq!(d.quantile(0.9), Some(9.0));
        assert!(d.is_exact());
    }

    #[test]
    fn merging_gives_what_adding_each_value_gives() {
        let values: Vec<i64> = (0..3 * EXACT as i64)
            .map(|i| (i * 7919) % 100_000_000)
            .collect();
        for split in [0, 10, EXACT, EXACT + 1, 2 * EXACT, values.len()] {
            let mut whole = Dist::default();
            values.iter().for_each(|v| whole.add(*v));
            let (mut a, mut b) = (Dist::default(), Dist::default());
            values[..split].iter().for_each(|v| a.add(*v));
            values[split..].iter().for_each(|v| b.add(*v));
            a.merge(b);
            assert_eq!(a.count(), whole.count());
            assert_eq!(a.mean(), whole.mean());
            assert_eq!(a.is_exact(), whole.is_exact());
            for q in [0.1, 0.5, 0.9, 1.0] {
                assert_eq!(a.quantile(q), whole.quantile(q), "split {split}, q {q}");
            }
        }
        // Under the limit, still exact.
        let (mut a, mut b) = (Dist::default(), Dist::default());
        a.add(1);
        b.add(3);
        a.merge(b);
        assert!(a.is_exact());
        assert_eq!(a.quantile(0.5), Some(1.0));
    }

    #[test]
    fn past_the_exact_limit_quantiles_are_within_half_a_percent() {
        let mut d = Dist::default();
        let day = 86_400_000_i64;
        let n = 3 * EXACT as i64;
        for i in 0..n {
            d.add(day + i * 1000 * 60);
        }
        assert!(!d.is_exact());
        assert_eq!(d.count(), n as u64);
        let true_median = (day + (n / 2 - 1) * 60_000) as f64;
        let m = d.quantile(0.5).unwrap();
        assert!(
            (m - true_median).abs() / true_median <= 0.005,
            "{m} vs {true_median}"
        );
        // The mean stays exact.
        let mean = (day as f64) + (n - 1) as f64 / 2.0 * 60_000.0;
        assert_eq!(d.mean(), Some(mean));
    }
}
