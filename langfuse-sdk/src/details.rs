//! Usage and cost details of a generation: keyed numbers with the common keys inline.

use serde::Serialize;
/// Details keyed by name with the three common keys stored inline, so building one allocates
/// nothing unless other keys are added.
#[derive(Clone, Debug, Default, PartialEq)]
struct Details<T> {
    input: Option<T>,
    output: Option<T>,
    total: Option<T>,
    other: Vec<(String, T)>,
}

impl<T: Copy> Details<T> {
    fn set(&mut self, key: &str, v: T) {
        match key {
            "input" => self.input = Some(v),
            "output" => self.output = Some(v),
            "total" => self.total = Some(v),
            _ => match self.other.iter_mut().find(|(k, _)| k == key) {
                Some(e) => e.1 = v,
                None => self.other.push((key.to_string(), v)),
            },
        }
    }
    fn get(&self, key: &str) -> Option<T> {
        match key {
            "input" => self.input,
            "output" => self.output,
            "total" => self.total,
            _ => self.other.iter().find(|(k, _)| k == key).map(|e| e.1),
        }
    }
    fn is_empty(&self) -> bool {
        self.input.is_none()
            && self.output.is_none()
            && self.total.is_none()
            && self.other.is_empty()
    }
    fn merge(&mut self, o: Details<T>) {
        for (k, v) in [("input", o.input), ("output", o.output), ("total", o.total)] {
            if let Some(v) = v {
                self.set(k, v);
            }
        }
        for (k, v) in o.other {
            self.set(&k, v);
        }
    }
}

impl<T: Serialize> Serialize for Details<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(None)?;
        for (k, v) in [
            ("input", &self.input),
            ("output", &self.output),
            ("total", &self.total),
        ] {
            if let Some(v) = v {
                m.serialize_entry(k, v)?;
            }
        }
        for (k, v) in &self.other {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Token counts of a generation (`langfuse.observation.usage_details`): `input`, `output`,
/// `total`, and any other key (`input_cached_tokens`, `output_reasoning_tokens`, …).
///
/// ```
/// use langfuse_sdk::UsageDetails;
/// let u = UsageDetails::new().input(10).output(5).total(15).with("input_cached_tokens", 4);
/// assert_eq!(u.get("total"), Some(15));
/// assert_eq!(u.get("input_cached_tokens"), Some(4));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UsageDetails(Details<u64>);

impl Eq for Details<u64> {}

impl UsageDetails {
    /// No counts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Input (prompt) tokens.
    pub fn input(mut self, n: u64) -> Self {
        self.0.input = Some(n);
        self
    }
    /// Output (completion) tokens.
    pub fn output(mut self, n: u64) -> Self {
        self.0.output = Some(n);
        self
    }
    /// Total tokens.
    pub fn total(mut self, n: u64) -> Self {
        self.0.total = Some(n);
        self
    }
    /// Any other count, such as `input_cached_tokens` or `output_reasoning_tokens`.
    pub fn with(mut self, key: impl AsRef<str>, n: u64) -> Self {
        self.0.set(key.as_ref(), n);
        self
    }
    /// A count by key.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.0.get(key)
    }
    /// True when no count is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Input, output and total, and the other counts (as recorded: keys already distinct).
    pub(crate) fn from_parts(known: [Option<u64>; 3], other: Vec<(String, u64)>) -> Self {
        UsageDetails(Details {
            input: known[0],
            output: known[1],
            total: known[2],
            other,
        })
    }
    /// Input, output and total.
    pub(crate) fn known(&self) -> [Option<u64>; 3] {
        [self.0.input, self.0.output, self.0.total]
    }
    /// The counts other than input, output and total.
    pub(crate) fn others(&self) -> &[(String, u64)] {
        &self.0.other
    }
    /// The counts other than input, output and total, taken out (`None` when there are none).
    pub(crate) fn take_others(&mut self) -> Option<Vec<(String, u64)>> {
        (!self.0.other.is_empty()).then(|| std::mem::take(&mut self.0.other))
    }
    pub(crate) fn merge(&mut self, other: UsageDetails) {
        self.0.merge(other.0);
    }
}

impl<K: AsRef<str>, const N: usize> From<[(K, u64); N]> for UsageDetails {
    fn from(v: [(K, u64); N]) -> Self {
        v.into_iter()
            .fold(UsageDetails::new(), |u, (k, n)| u.with(k, n))
    }
}

/// Cost of a generation in USD (`langfuse.observation.cost_details`): `input`, `output`, `total`,
/// or any other key. Non-finite and negative amounts are left out (the server drops them too).
///
/// ```
/// use langfuse_sdk::CostDetails;
/// let c = CostDetails::new().input(0.0001).output(0.0002).total(0.0003);
/// assert_eq!(c.get("total"), Some(0.0003));
/// assert_eq!(CostDetails::new().total(f64::NAN).get("total"), None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct CostDetails(Details<f64>);

impl CostDetails {
    /// No amounts.
    pub fn new() -> Self {
        Self::default()
    }
    /// Cost of the input.
    pub fn input(self, usd: f64) -> Self {
        self.with("input", usd)
    }
    /// Cost of the output.
    pub fn output(self, usd: f64) -> Self {
        self.with("output", usd)
    }
    /// Total cost.
    pub fn total(self, usd: f64) -> Self {
        self.with("total", usd)
    }
    /// Any other amount.
    pub fn with(mut self, key: impl AsRef<str>, usd: f64) -> Self {
        if usd.is_finite() && usd >= 0.0 {
            self.0.set(key.as_ref(), usd);
        }
        self
    }
    /// An amount by key.
    pub fn get(&self, key: &str) -> Option<f64> {
        self.0.get(key)
    }
    /// True when no amount is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn merge(&mut self, other: CostDetails) {
        self.0.merge(other.0);
    }
}

impl<K: AsRef<str>, const N: usize> From<[(K, f64); N]> for CostDetails {
    fn from(v: [(K, f64); N]) -> Self {
        v.into_iter()
            .fold(CostDetails::new(), |c, (k, usd)| c.with(k, usd))
    }
}
