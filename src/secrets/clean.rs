//! Texts found clean, remembered: a source's report carries the same texts poll after poll (a
//! cell's history, its links, its version), and a text already searched for secrets and found
//! clean need not be searched again — until a secret is registered ([`super::generation`]),
//! which may make a clean text dirty. Bounded: at most [`MAX`] texts of at most [`MAX_LEN`]
//! bytes; full, it takes no more, and starts again at the next pass.

use std::borrow::Cow;
use std::collections::HashSet;

/// Texts remembered, at most.
pub const MAX: usize = 16_384;
/// Longer texts are not remembered (they are rarely sent twice).
pub const MAX_LEN: usize = 160;

/// The texts one cleaner found clean since the last secret was registered.
#[derive(Debug, Default)]
pub struct KnownClean {
    /// The registry's generation the texts were found clean in.
    generation: u64,
    texts: HashSet<Box<str>>,
}

impl KnownClean {
    /// Ready for a pass: everything is forgotten when a secret was registered since the last
    /// (or the memory is full). A text found clean during the pass while a secret is being
    /// registered is forgotten at the next: the generation read here is older than the one
    /// it then finds. (Within that pass, a text seen again is taken as clean as it was the
    /// first time: the same text, already in the same report.)
    pub fn refresh(&mut self) {
        self.refresh_at(super::generation());
    }

    fn refresh_at(&mut self, generation: u64) {
        if generation != self.generation || self.texts.len() >= MAX {
            self.texts.clear();
            self.generation = generation;
        }
    }

    /// What `clean` puts in place of `text` (`None`: nothing to change), asked only of a text
    /// not found clean before in this generation; a text it leaves as it is, remembered.
    pub fn clean(
        &mut self,
        text: &str,
        clean: impl for<'t> FnOnce(&'t str) -> Cow<'t, str>,
    ) -> Option<String> {
        if self.contains(text) {
            return None;
        }
        match clean(text) {
            Cow::Owned(changed) => Some(changed),
            Cow::Borrowed(_) => {
                self.remember(text);
                None
            }
        }
    }

    /// `text` was found clean in this generation.
    pub fn contains(&self, text: &str) -> bool {
        self.texts.contains(text)
    }

    /// Remember that the cleaner found nothing to change in `text`.
    fn remember(&mut self, text: &str) {
        if text.len() > MAX_LEN || self.texts.len() >= MAX {
            return;
        }
        self.texts.insert(text.into());
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.texts.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask_tok(t: &str) -> Cow<'_, str> {
        if t.contains("tok") {
            Cow::Owned(t.replace("tok", "***"))
        } else {
            Cow::Borrowed(t)
        }
    }

    fn mask_all(_: &str) -> Cow<'_, str> {
        Cow::Owned("***".into())
    }

    #[test]
    fn what_the_cleaner_leaves_is_remembered_and_not_asked_again() {
        let mut k = KnownClean::default();
        // Changed: the change, every time, and never remembered.
        assert_eq!(k.clean("a tok", mask_tok).as_deref(), Some("a ***"));
        assert!(!k.contains("a tok"));
        assert_eq!(k.clean("a tok", mask_tok).as_deref(), Some("a ***"));
        // Left as it is: remembered, and the cleaner is not asked again (one that would
        // change it now is not heard).
        assert_eq!(k.clean("v1.2.3", mask_tok), None);
        assert!(k.contains("v1.2.3"));
        assert_eq!(k.clean("v1.2.3", mask_all), None);
        // Another generation: asked again.
        k.refresh_at(k.generation + 1);
        assert_eq!(k.clean("v1.2.3", mask_all).as_deref(), Some("***"));
    }

    #[test]
    fn a_text_found_clean_is_known_until_a_secret_is_registered() {
        let mut k = KnownClean::default();
        k.refresh_at(7);
        k.remember("v1.2.3");
        assert!(k.contains("v1.2.3"));
        assert!(!k.contains("v1.2.4"));
        // The same generation: still known.
        k.refresh_at(7);
        assert!(k.contains("v1.2.3"));
        // A secret registered since: forgotten.
        k.refresh_at(8);
        assert!(!k.contains("v1.2.3"));
    }

    #[test]
    fn long_texts_are_not_remembered_and_a_full_memory_starts_again_at_the_next_pass() {
        let mut k = KnownClean::default();
        k.remember(&"x".repeat(MAX_LEN + 1));
        assert_eq!(k.len(), 0);
        for i in 0..MAX {
            k.remember(&i.to_string());
        }
        assert_eq!(k.len(), MAX);
        // Full: no more in this pass, what it holds still known.
        k.remember("one more");
        assert_eq!(k.len(), MAX);
        assert!(!k.contains("one more") && k.contains("7"));
        // The next pass starts again.
        k.refresh_at(0);
        assert_eq!(k.len(), 0);
        k.remember("one more");
        assert!(k.contains("one more"));
    }
}
