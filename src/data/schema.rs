//! [`FeatureSchema`]: the features of a model, named and typed, in baseline order: what a
//! decoder decodes into and what a window keeps.

use std::collections::HashMap;

use super::Kind;

/// Features in order, each with its [`Kind`], found by name. A repeated name keeps its first
/// position (a payload's field can only be one feature).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FeatureSchema {
    names: Vec<String>,
    kinds: Vec<Kind>,
    index: HashMap<String, usize>,
}

impl FeatureSchema {
    /// These features, in this order.
    pub fn new(features: impl IntoIterator<Item = (String, Kind)>) -> Self {
        let mut schema = FeatureSchema::default();
        for (name, kind) in features {
            schema
                .index
                .entry(name.clone())
                .or_insert(schema.names.len());
            schema.names.push(name);
            schema.kinds.push(kind);
        }
        schema
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there is no feature.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Names, in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Kinds, in order.
    pub fn kinds(&self) -> &[Kind] {
        &self.kinds
    }

    /// The kind of the feature at `i`, `None` past the end.
    pub fn kind(&self, i: usize) -> Option<Kind> {
        self.kinds.get(i).copied()
    }

    /// The position of the feature named `name`.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_keep_their_order_and_a_repeated_name_its_first_position() {
        let schema = FeatureSchema::new([
            ("a".to_string(), Kind::Numeric),
            ("b".to_string(), Kind::Categorical),
            ("a".to_string(), Kind::Categorical),
        ]);
        assert_eq!((schema.len(), schema.is_empty()), (3, false));
        assert_eq!(schema.names(), ["a", "b", "a"]);
        assert_eq!(
            schema.kinds(),
            [Kind::Numeric, Kind::Categorical, Kind::Categorical]
        );
        assert_eq!(schema.index_of("a"), Some(0));
        assert_eq!(schema.index_of("b"), Some(1));
        assert_eq!(schema.index_of("c"), None);
        assert_eq!(schema.kind(2), Some(Kind::Categorical));
        assert_eq!(schema.kind(3), None);
        assert!(FeatureSchema::default().is_empty());
    }
}
