//! Complete pagination: `get_all` reads every page until the announced total, else the
//! last `Link`, else a short page, and refuses anything it cannot prove complete.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use crate::forge::error::{ForgeError, PaginationProblem};

use super::{HttpClient, PageDialect, decode, display_path};

/// A GET that is one page of a list.
struct PageRead {
    items: Vec<Value>,
    total: Option<u64>,
    next: Option<Url>,
    has_link: bool,
}

impl HttpClient {
    /// Reads a whole list: every page, or an error. `wrapped` names the array field of a
    /// wrapped list (`{"total_count": n, "check_runs": [...]}`); `key` identifies an item so
    /// that a repeat across pages is detected.
    pub async fn get_all(
        &self,
        url: &Url,
        wrapped: Option<&str>,
        key: fn(&Value) -> Option<String>,
    ) -> Result<Vec<Value>, ForgeError> {
        let settings = &self.inner.settings;
        let path = display_path(url);
        let perr = |problem| ForgeError::Pagination {
            path: path.clone(),
            problem,
        };
        let mut items: Vec<Value> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut announced: Option<u64> = None;
        let mut largest_page = 0usize;
        let mut next_url = Some(self.page_url(url, 1));
        let mut page_no: u32 = 0;
        while let Some(current) = next_url.take() {
            page_no += 1;
            if page_no > settings.page_cap {
                return Err(perr(PaginationProblem::PageCap {
                    cap: settings.page_cap,
                }));
            }
            let page = self.read_page(&current, page_no, wrapped, &path).await?;
            self.inner.stats.pages.fetch_add(1, Ordering::Relaxed);
            match (announced, page.total) {
                (None, Some(t)) => announced = Some(t),
                (Some(first), Some(later)) if first != later => {
                    return Err(perr(PaginationProblem::TotalChanged { first, later }));
                }
                _ => {}
            }
            let n = page.items.len();
            largest_page = largest_page.max(n);
            for item in page.items {
                if let Some(k) = key(&item)
                    && !seen.insert(k.clone())
                {
                    return Err(perr(PaginationProblem::RepeatedItem {
                        page: page_no,
                        key: k,
                    }));
                }
                items.push(item);
            }
            let collected = items.len() as u64;
            let done = if let Some(total) = announced {
                // An announced total decides; a clamped page size just means more pages.
                collected >= total || n == 0
            } else if page.has_link {
                if page.next.is_some() && n == 0 {
                    return Err(perr(PaginationProblem::EmptyPageWithNext { page: page_no }));
                }
                page.next.is_none()
            } else if settings.dialect == PageDialect::GitHub {
                // GitHub sends `Link` on every page of a list that has more than one: an
                // answer without it is the only page (no request for a page that cannot exist).
                true
            } else {
                // No total, no links: a page shorter than the largest seen, or empty, ends it.
                n == 0 || n < largest_page
            };
            if done {
                if let Some(total) = announced
                    && total != collected
                {
                    return Err(perr(PaginationProblem::TotalMismatch {
                        expected: total,
                        collected,
                    }));
                }
                return Ok(items);
            }
            next_url = Some(match (settings.dialect, page.next) {
                (PageDialect::GitHub, Some(link)) => {
                    if link.origin() != url.origin() {
                        return Err(perr(PaginationProblem::ForeignLink {
                            link: link.to_string(),
                        }));
                    }
                    link
                }
                _ => self.page_url(url, page_no + 1),
            });
        }
        Ok(items)
    }

    /// [`get_all`](Self::get_all), then each item decoded.
    pub async fn get_all_as<T: DeserializeOwned>(
        &self,
        url: &Url,
        wrapped: Option<&str>,
        key: fn(&Value) -> Option<String>,
    ) -> Result<Vec<T>, ForgeError> {
        let values = self.get_all(url, wrapped, key).await?;
        values
            .into_iter()
            .map(|v| {
                serde_json::from_value(v).map_err(|e| ForgeError::Decode {
                    method: "GET".into(),
                    path: display_path(url),
                    detail: format!("list item: {e}"),
                })
            })
            .collect()
    }

    fn page_url(&self, url: &Url, page: u32) -> Url {
        let settings = &self.inner.settings;
        let size_param = match settings.dialect {
            PageDialect::Gitea => "limit",
            PageDialect::GitHub => "per_page",
        };
        let mut u = url.clone();
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "page" && k != size_param)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut q = u.query_pairs_mut();
            q.clear();
            for (k, v) in &kept {
                q.append_pair(k, v);
            }
            q.append_pair("page", &page.to_string());
            q.append_pair(size_param, &settings.page_size.to_string());
        }
        u
    }

    async fn read_page(
        &self,
        url: &Url,
        page_no: u32,
        wrapped: Option<&str>,
        path: &str,
    ) -> Result<PageRead, ForgeError> {
        let resp = self.get_raw(url).await?;
        let not_a_list = || ForgeError::Pagination {
            path: path.to_string(),
            problem: PaginationProblem::NotAList { page: page_no },
        };
        let value: Value = decode("GET", url, &resp.body)?;
        let (items, body_total) = match (wrapped, value) {
            (None, Value::Array(items)) => (items, None),
            (Some(field), Value::Object(mut obj)) => {
                let total = obj.get("total_count").and_then(Value::as_u64);
                match obj.remove(field) {
                    Some(Value::Array(items)) => (items, total),
                    _ => return Err(not_a_list()),
                }
            }
            _ => return Err(not_a_list()),
        };
        let header_total = match resp.header("x-total-count") {
            None => None,
            Some(s) => Some(s.trim().parse::<u64>().map_err(|_| ForgeError::Decode {
                method: "GET".into(),
                path: path.to_string(),
                detail: format!("X-Total-Count is not a number: {s:?}"),
            })?),
        };
        let link = resp.header("link");
        let next = link.and_then(|l| next_link(l, url));
        Ok(PageRead {
            items,
            total: header_total.or(body_total),
            next,
            has_link: link.is_some(),
        })
    }
}

/// The `rel="next"` target of a `Link` header, resolved against `base`.
pub fn next_link(header: &str, base: &Url) -> Option<Url> {
    header.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let target = target.strip_prefix('<')?.strip_suffix('>')?;
        let is_next = pieces.any(|p| {
            let p = p.trim();
            p == "rel=\"next\"" || p == "rel=next"
        });
        if is_next {
            base.join(target).ok()
        } else {
            None
        }
    })
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_next() {
        let base = Url::parse("https://api.github.com/repos/o/r/pulls").unwrap();
        let h = r#"<https://api.github.com/repos/o/r/pulls?page=2>; rel="next", <https://api.github.com/repos/o/r/pulls?page=5>; rel="last""#;
        assert_eq!(
            next_link(h, &base).unwrap().as_str(),
            "https://api.github.com/repos/o/r/pulls?page=2"
        );
        assert!(next_link(r#"<https://x/?page=1>; rel="prev""#, &base).is_none());
        assert!(next_link("garbage", &base).is_none());
    }
}
