//! `report --json`: one [`Report`] as one pretty-printed object (as before
//! many files could be given, so that scripts reading one file keep
//! working), several as an array of them, in the order given.

use anyhow::Result;

use super::Report;

pub(crate) fn render(reports: &[Report]) -> Result<String> {
    let mut json = match reports {
        [one] => serde_json::to_string_pretty(one)?,
        many => serde_json::to_string_pretty(many)?,
    };
    json.push('\n');
    Ok(json)
}
