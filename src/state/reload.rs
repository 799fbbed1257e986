//! A configuration reload as a state transition.
//!
//! Apps are indices into `Config::apps` (sorted by name), and the state holds such
//! indices in four places: each node's `apps`, the `dirty` set, the `announced` map and
//! every waiting request's key. A reload that adds or removes an app shifts the indices of
//! the apps after it, so every one of those is remapped by name before anything looks at
//! the new config. An app that is gone is dropped from all of them; a request still
//! waiting for it keeps the app's name for its reply (its streams were asked to change,
//! and they still report back).

use super::{AppKey, State};
use crate::config::Config;

impl State {
    /// Replaces the configuration and re-evaluates every stream's apps.
    pub fn set_config(&mut self, config: Config) {
        // Old index -> new index, by name.
        let moved: Vec<Option<usize>> = self
            .config
            .apps
            .iter()
            .map(|a| config.app(&a.name).map(|(i, _)| i))
            .collect();
        let remap = |key: AppKey| match key {
            AppKey::Named(i) => moved.get(i).copied().flatten().map(AppKey::Named),
            other => Some(other),
        };
        let old = std::mem::replace(&mut self.config, config);
        for node in self.nodes.values_mut() {
            node.apps = node.apps.iter().filter_map(|&i| moved[i]).collect();
            node.apps.sort_unstable();
        }
        self.dirty = std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(remap)
            .collect();
        // Kept (remapped) so that apps the reload did not change are not announced again.
        self.announced = std::mem::take(&mut self.announced)
            .into_iter()
            .filter_map(|(k, v)| Some((remap(k)?, v)))
            .collect();
        self.waiters.remap(remap, |key| match key {
            AppKey::Named(i) => {
                let a = &old.apps[i];
                (a.name.clone(), a.label.clone(), a.max_volume)
            }
            // Never removed; named for completeness.
            other => (format!("{other:?}"), String::new(), old.max_volume),
        });
        let ids: Vec<u32> = self.nodes.keys().copied().collect();
        for id in ids {
            self.rematch(id);
        }
        self.mark_all_dirty();
    }

    /// Panics unless every app index the state holds is valid for its config: what a
    /// reload must preserve. Used by the tests after every step.
    #[cfg(test)]
    pub(super) fn check_app_indices(&self) {
        let n = self.config.apps.len();
        let ok = |k: &AppKey| !matches!(k, AppKey::Named(i) if *i >= n);
        for (id, node) in &self.nodes {
            assert!(
                node.apps.iter().all(|&i| i < n),
                "node {id}: {:?}",
                node.apps
            );
        }
        assert!(self.dirty.iter().all(ok), "dirty {:?}", self.dirty);
        assert!(self.announced.keys().all(ok), "announced");
        assert!(self.waiters.keys().iter().all(ok), "waiters");
    }
}
