//! The queries behind the console's pages and API, one module per page. Each returns plain
//! serialisable rows with phones already passed through the operator's [`crate::redact::Redactor`],
//! so the HTML, the JSON and the CSV cannot disagree about what a viewer sees.

pub mod alerts;
pub mod audit;
pub mod dead_letters;
pub mod queues;
pub mod reports;
pub mod timeline;
pub mod worker_rates;

use serde::{Deserialize, Serialize};

/// Which page of a list, from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paging {
    pub page: u32,
    pub per_page: u32,
}

impl Paging {
    pub fn new(page: Option<u32>, per_page: Option<u32>, default_per_page: u32) -> Self {
        Self { page: page.unwrap_or(1).max(1), per_page: per_page.unwrap_or(default_per_page).clamp(1, 1000) }
    }

    pub fn limit(&self) -> i64 {
        i64::from(self.per_page)
    }

    pub fn offset(&self) -> i64 {
        i64::from(self.page - 1) * i64::from(self.per_page)
    }
}

/// One page of a list, with the total the filter matches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PageOf<T> {
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    pub items: Vec<T>,
}

impl<T> PageOf<T> {
    pub fn pages(&self) -> u32 {
        let per = i64::from(self.per_page.max(1));
        u32::try_from((self.total + per - 1) / per).unwrap_or(u32::MAX).max(1)
    }
}

/// An optional text parameter: blank is absent.
pub fn non_blank(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}
