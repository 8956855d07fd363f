//! The analysts' formats, as pure conversions between records and files:
//! IBM i2 Analyst's Notebook charts (ANX XML, [`anx`]) and STIX 2.1
//! bundles ([`stix`]), each both ways. No IO and nothing of the node
//! here: callers (`liaison export`, `liaison ingest`, the console) read
//! and write the files.
//!
//! Export takes records as stored (the canonical [`Record`]) with the
//! agency that holds them; import gives records back, and lists every
//! item it cannot carry by its identity in the file (an ANX chart item's
//! identity, a STIX object's id) with the reason, importing the rest.

use liaison_protocol::record::Record;

pub mod anx;
pub mod stix;

/// Who holds the exported records: the originating agency a chart or a
/// bundle names as its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The agency's node name (`kg-border`).
    pub agency: String,
    /// Its ISO 3166 alpha-3 country, if known.
    pub country: Option<String>,
}

/// An item of an imported file that did not become (part of) a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its identity in the file: an ANX chart item's identity, a STIX
    /// object's id.
    pub item: String,
    /// Why, and what would fix it.
    pub reason: String,
}

/// What an import gives: the records, and what was left out.
#[derive(Debug, Default)]
pub struct Imported {
    /// Records built from the file.
    pub records: Vec<Record>,
    /// Items that could not be carried.
    pub skipped: Vec<Skipped>,
}

/// A format an export is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Export {
    /// An i2 Analyst's Notebook chart: ANX XML in UTF-16 with a byte
    /// order mark, as Analyst's Notebook writes it.
    Anx,
    /// A STIX 2.1 bundle (JSON).
    Stix,
}

impl Export {
    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Export::Anx => "anx",
            Export::Stix => "json",
        }
    }

    /// The media type a download is served with.
    pub fn media_type(self) -> &'static str {
        match self {
            Export::Anx => "application/xml",
            Export::Stix => "application/stix+json;version=2.1",
        }
    }

    /// `records` held by `source` in this format, created now, and the
    /// items left out (a STIX bundle keeps out what a handling code
    /// forbids: a TLP:RED record, an AMBER+STRICT record's summary).
    pub fn write(
        self,
        records: &[Record],
        source: &Source,
        now: time::OffsetDateTime,
    ) -> (Vec<u8>, Vec<Skipped>) {
        // A record without a country was read with the agency's (its
        // national phone numbers, say): it says so in the file, so that
        // another agency reads it the same way.
        let country = source.country.as_deref().and_then(|c| c.parse().ok());
        let owned: Vec<Record> = records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if r.country.is_none() {
                    r.country = country;
                }
                r
            })
            .collect();
        let records = owned.as_slice();
        match self {
            Export::Anx => (anx::encode_utf16(&anx::write(records, source)), Vec::new()),
            Export::Stix => {
                let (bundle, skipped) = stix::write_refusing(records, source, now);
                let text = serde_json::to_string_pretty(&bundle).unwrap_or_default();
                (text.into_bytes(), skipped)
            }
        }
    }
}
