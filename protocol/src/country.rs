//! ISO 3166-1 country codes: records and config name countries by alpha-3
//! (`KGZ`); the phone-number metadata is keyed by alpha-2 (`KG`).

use std::fmt;
use std::str::FromStr;

/// Every officially assigned ISO 3166-1 code as `ALPHA3 ALPHA2` pairs,
/// sorted by alpha-3.
const CODES: &str = "ABW AW,AFG AF,AGO AO,AIA AI,ALA AX,ALB AL,AND AD,ARE AE,ARG AR,ARM AM,ASM AS,\
ATA AQ,ATF TF,ATG AG,AUS AU,AUT AT,AZE AZ,BDI BI,BEL BE,BEN BJ,BES BQ,BFA BF,BGD BD,BGR BG,BHR BH,\
BHS BS,BIH BA,BLM BL,BLR BY,BLZ BZ,BMU BM,BOL BO,BRA BR,BRB BB,BRN BN,BTN BT,BVT BV,BWA BW,CAF CF,\
CAN CA,CCK CC,CHE CH,CHL CL,CHN CN,CIV CI,CMR CM,COD CD,COG CG,COK CK,COL CO,COM KM,CPV CV,CRI CR,\
CUB CU,CUW CW,CXR CX,CYM KY,CYP CY,CZE CZ,DEU DE,DJI DJ,DMA DM,DNK DK,DOM DO,DZA DZ,ECU EC,EGY EG,\
ERI ER,ESH EH,ESP ES,EST EE,ETH ET,FIN FI,FJI FJ,FLK FK,FRA FR,FRO FO,FSM FM,GAB GA,GBR GB,GEO GE,\
GGY GG,GHA GH,GIB GI,GIN GN,GLP GP,GMB GM,GNB GW,GNQ GQ,GRC GR,GRD GD,GRL GL,GTM GT,GUF GF,GUM GU,\
GUY GY,HKG HK,HMD HM,HND HN,HRV HR,HTI HT,HUN HU,IDN ID,IMN IM,IND IN,IOT IO,IRL IE,IRN IR,IRQ IQ,\
ISL IS,ISR IL,ITA IT,JAM JM,JEY JE,JOR JO,JPN JP,KAZ KZ,KEN KE,KGZ KG,KHM KH,KIR KI,KNA KN,KOR KR,\
KWT KW,LAO LA,LBN LB,LBR LR,LBY LY,LCA LC,LIE LI,LKA LK,LSO LS,LTU LT,LUX LU,LVA LV,MAC MO,MAF MF,\
MAR MA,MCO MC,MDA MD,MDG MG,MDV MV,MEX MX,MHL MH,MKD MK,MLI ML,MLT MT,MMR MM,MNE ME,MNG MN,MNP MP,\
MOZ MZ,MRT MR,MSR MS,MTQ MQ,MUS MU,MWI MW,MYS MY,MYT YT,NAM NA,NCL NC,NER NE,NFK NF,NGA NG,NIC NI,\
NIU NU,NLD NL,NOR NO,NPL NP,NRU NR,NZL NZ,OMN OM,PAK PK,PAN PA,PCN PN,PER PE,PHL PH,PLW PW,PNG PG,\
POL PL,PRI PR,PRK KP,PRT PT,PRY PY,PSE PS,PYF PF,QAT QA,REU RE,ROU RO,RUS RU,RWA RW,SAU SA,SDN SD,\
SEN SN,SGP SG,SGS GS,SHN SH,SJM SJ,SLB SB,SLE SL,SLV SV,SMR SM,SOM SO,SPM PM,SRB RS,SSD SS,STP ST,\
SUR SR,SVK SK,SVN SI,SWE SE,SWZ SZ,SXM SX,SYC SC,SYR SY,TCA TC,TCD TD,TGO TG,THA TH,TJK TJ,TKL TK,\
TKM TM,TLS TL,TON TO,TTO TT,TUN TN,TUR TR,TUV TV,TWN TW,TZA TZ,UGA UG,UKR UA,UMI UM,URY UY,USA US,\
UZB UZ,VAT VA,VCT VC,VEN VE,VGB VG,VIR VI,VNM VN,VUT VU,WLF WF,WSM WS,YEM YE,ZAF ZA,ZMB ZM,ZWE ZW";

/// ICAO Doc 9303 (part 3, 5.1) codes a travel document may carry for an
/// issuer or a nationality that is not an ISO 3166-1 country: (alpha-3,
/// meaning). They have no phone numbering plan (alpha-2 `ZZ`, "unknown
/// region" in libphonenumber). Germany's `D` is read as `DEU`.
pub(crate) const ICAO_SPECIAL: [(&str, &str); 8] = [
    ("EUE", "European Union"),
    ("UNA", "a specialized agency of the United Nations"),
    ("UNK", "a resident of Kosovo (UNMIK)"),
    ("UNO", "the United Nations Organization or its official"),
    ("XXA", "a stateless person (1954 Convention)"),
    ("XXB", "a refugee (1951 Convention)"),
    ("XXC", "a refugee other than under the 1951 Convention"),
    ("XXX", "a person of unspecified nationality"),
];

/// Bytes per entry of [`CODES`], separator included.
const ENTRY: usize = 7;

/// An ISO 3166-1 country, written alpha-3 (`KGZ`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Country {
    alpha3: [u8; 3],
    alpha2: [u8; 2],
}

/// A country code that is not an ISO 3166-1 alpha-3 code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not an ISO 3166-1 alpha-3 country code nor an ICAO 9303 one: write three letters such as KGZ, TJK, KAZ, UZB (or D, XXA, XXB, XXC, XXX, UNO, UNA, UNK, EUE)")]
pub struct UnknownCountry {
    /// What was given.
    pub given: String,
}

impl Country {
    /// The alpha-3 code: `KGZ`.
    pub fn alpha3(&self) -> &str {
        std::str::from_utf8(&self.alpha3).expect("country codes are ASCII")
    }

    /// The alpha-2 code: `KG` (`ZZ` for an ICAO code that is no country).
    pub fn alpha2(&self) -> &str {
        std::str::from_utf8(&self.alpha2).expect("country codes are ASCII")
    }

    /// What an ICAO Doc 9303 code that is no ISO 3166-1 country stands for
    /// (`XXA`: a stateless person); `None` for a country.
    pub fn icao_special(&self) -> Option<&'static str> {
        ICAO_SPECIAL
            .iter()
            .find(|(code, _)| code.as_bytes() == self.alpha3)
            .map(|(_, meaning)| *meaning)
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut want = s.trim().to_ascii_uppercase();
        // ICAO 9303: Germany is `D` (`D<<` in a machine-readable zone).
        if want.trim_end_matches('<') == "D" {
            want = "DEU".to_owned();
        }
        if let Some((code, _)) = ICAO_SPECIAL.iter().find(|(code, _)| *code == want) {
            let b = code.as_bytes();
            return Ok(Country {
                alpha3: [b[0], b[1], b[2]],
                alpha2: *b"ZZ",
            });
        }
        if want.len() == 3 {
            // Entries are fixed-width (`ABW AW,`) and sorted: binary search.
            let table = CODES.as_bytes();
            let n = table.len().div_ceil(ENTRY);
            let entry = |i: usize| &table[i * ENTRY..i * ENTRY + 6];
            let (mut lo, mut hi) = (0, n);
            while lo < hi {
                let mid = (lo + hi) / 2;
                let e = entry(mid);
                match e[..3].cmp(want.as_bytes()) {
                    std::cmp::Ordering::Less => lo = mid + 1,
                    std::cmp::Ordering::Greater => hi = mid,
                    std::cmp::Ordering::Equal => {
                        return Ok(Country {
                            alpha3: [e[0], e[1], e[2]],
                            alpha2: [e[4], e[5]],
                        })
                    }
                }
            }
        }
        Err(UnknownCountry {
            given: s.to_owned(),
        })
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha3())
    }
}

crate::serde_as_str!(Country);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_well_formed_and_sorted() {
        let pairs: Vec<&str> = CODES.split(',').collect();
        assert!(pairs.len() >= 249, "{} codes", pairs.len());
        for p in &pairs {
            assert_eq!(p.len(), 6, "{p:?}");
            assert!(
                p.bytes().all(|b| b == b' ' || b.is_ascii_uppercase()),
                "{p:?}"
            );
        }
        let mut sorted = pairs.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted, pairs);
    }

    #[test]
    fn region_codes() {
        for (a3, a2) in [
            ("KGZ", "KG"),
            ("TJK", "TJ"),
            ("KAZ", "KZ"),
            ("UZB", "UZ"),
            ("RUS", "RU"),
            ("AFG", "AF"),
        ] {
            let c: Country = a3.parse().unwrap();
            assert_eq!((c.alpha3(), c.alpha2()), (a3, a2));
        }
        assert_eq!("kgz".parse::<Country>().unwrap().alpha3(), "KGZ");
        assert!("KG".parse::<Country>().is_err());
        assert!("XXY".parse::<Country>().is_err());
    }

    #[test]
    fn icao_codes_that_are_no_country_are_read_and_have_no_numbering_plan() {
        for (code, _) in ICAO_SPECIAL {
            let c: Country = code.to_lowercase().parse().expect(code);
            assert_eq!((c.alpha3(), c.alpha2()), (code, "ZZ"));
            assert!(c.icao_special().is_some());
            assert_eq!(c.to_string(), code);
        }
        for german in ["D", "d", "D<<", " D "] {
            assert_eq!(german.parse::<Country>().expect(german).alpha3(), "DEU");
        }
        assert_eq!("KGZ".parse::<Country>().expect("KGZ").icao_special(), None);
        assert!("DD".parse::<Country>().is_err());
    }
}
