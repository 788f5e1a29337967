//! Results computed from the store and reused until the next write: an ITS fit, a disparity table, a
//! jurisdiction's name and events. A page asks for them and so do the charts and JSON it links, so each is
//! computed once per write, whichever request comes first. Entries are few and small (at most 4096);
//! a result computed while a write happened is served, not kept.

use crate::error::ApiResult;
use crate::state::{AppState, SeriesData, SeriesPoints, points_weight};
use oversight_core::{Grain, IndicatorId};
use std::sync::Arc;

impl AppState {
    /// The result for `key` made since the last write, or `compute`'s (kept if no write happened meanwhile).
    pub(crate) async fn memo<T, F, Fut>(&self, key: String, compute: F) -> ApiResult<Arc<T>>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = ApiResult<T>>,
    {
        let generation = self.generation();
        if let Some((g, v)) = self.0.memo.get(&key)
            && g == generation
            && let Ok(v) = v.downcast::<T>()
        {
            return Ok(v);
        }
        let v = Arc::new(compute().await?);
        if self.generation() == generation {
            self.0.memo.insert(key, (generation, v.clone()));
        }
        Ok(v)
    }

    /// Every point of (indicator, jurisdiction, grain), or of one group of it, from memory when no write
    /// happened since it was read.
    pub(crate) async fn series_points(
        &self,
        indicator: IndicatorId,
        jurisdiction: &str,
        grain: Grain,
        group: Option<&str>,
    ) -> ApiResult<SeriesPoints> {
        // One group's points are kept apart from the whole series' (ids cannot hold the separator).
        let j = group.map_or_else(|| jurisdiction.to_owned(), |g| format!("{jurisdiction}\u{1f}{g}"));
        let key = (indicator, j, grain);
        let generation = self.generation();
        if let Some((g, pts)) = self.0.points.get(&key)
            && g == generation
        {
            return Ok(pts);
        }
        let (k2, j, group) = (key.clone(), jurisdiction.to_owned(), group.map(str::to_owned));
        let (basis, points) = self
            .read_basis(move |s| {
                Ok(s.points(
                    k2.0.as_str(),
                    &j,
                    k2.2.as_str(),
                    group.as_deref(),
                    chrono::NaiveDate::MIN,
                    chrono::NaiveDate::MAX,
                )?)
            })
            .await?;
        let pts: SeriesPoints = Arc::new(SeriesData { basis, points });
        if self.generation() == generation && points_weight(&key, &pts) <= self.0.cfg.cache_bytes / 8 {
            self.0.points.insert(key, (generation, pts.clone()));
        }
        Ok(pts)
    }
}
