//! `report --json`: the [`Report`] as one pretty-printed object.

use anyhow::Result;

use super::Report;

pub(crate) fn render(report: &Report) -> Result<String> {
    let mut json = serde_json::to_string_pretty(report)?;
    json.push('\n');
    Ok(json)
}
