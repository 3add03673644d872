"""Value formats: what a whole cell looks like when it holds a given kind of data.

Each format is an RE2 pattern (DuckDB's regex engine) matched against the *whole* trimmed
value, with a *strength*: how much the format alone says. ``ddd-dd-dddd`` is a strong hint of
a US SSN; a bare 9-digit number is weak (an order number looks the same), so a weak format
needs a checksum far above chance or a column-name hint before it counts.

The scanner evaluates every format on every sampled value in one vectorized DuckDB query;
Python validators then run only on the values a format selected.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    id: str
    type: str
    pattern: str
    strength: float


_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_EXT = r"(?:\s*(?:x|ext\.?|extension|#)\s*\d{1,6})?"
_MONTHS = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|"
    r"june|july|august|september|october|november|december)"
)
_STREET_WORDS_EN = (
    r"(?:street|st|avenue|ave|av|road|rd|boulevard|blvd|lane|ln|drive|dr|court|ct|way|place|pl|"
    r"terrace|ter|circle|cir|parkway|pkwy|highway|hwy|square|sq|trail|trl|crescent|cres|close|"
    r"gardens|grove|row|walk|hill|park|mews|green|view|ridge|run|pike|point|pt|loop|path|alley|"
    r"plaza|crossing|xing|heights|hts|estates|manor|meadow|meadows|glen|bypass|expressway|"
    r"freeway|fwy|station|stravenue|via|vista|wells|center|ctr|motorway|port|turnpike|spur|"
    r"fort|ferry|ford|shore|shores|harbor|island|junction|key|knoll|lake|lakes|land|landing|"
    r"light|lodge|mill|mills|mission|mount|mountain|orchard|oval|pass|pine|pines|plains|"
    r"prairie|radial|ranch|rapids|rest|river|shoal|springs|spring|stream|summit|trace|track|"
    r"tunnel|union|valley|village|ville|camp|cape|canyon|cliff|club|common|corner|course|"
    r"creek|cove|dale|dam|divide|field|fields|flat|falls|forest|fork|forks|haven|hollow|inlet|"
    r"brook|brooks|burg|branch|bridge|bluff|bend|beach|bayou|arcade|route|rte)\.?"
)
_STREET_SUFFIX_EU = (
    r"(?:stra(?:ss|ß)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|pfad|steig|"
    r"straat|laan|plein|gracht|kade|dijk|singel|pad|hof|dreef|steeg|markt|"
    r"vej|gade|gatan|vägen|vagen|gata|stigen|gränd|grand|backen|torget|leden|veien|gaten|"
    r"katu|tie|kuja|utca|út|ut|tér|ter|körút|korut|köz|koz|sor|sétány|setany|rakpart|ulica|ul\.)"
)
_STREET_PREFIX_EU = (
    r"(?:rue|avenue|av\.|boulevard|bd|bld|chemin|place|allée|allee|impasse|quai|cours|route|"
    r"rond-point|voie|square|passage|"
    r"calle|c/|avenida|avda\.?|paseo|plaza|camino|carrera|ronda|travesía|travesia|urbanización|"
    r"urbanizacion|cañada|canada|vía|glorieta|pasaje|rambla|cuesta|callejón|callejon|acceso|"
    r"carretera|alameda|via|viale|piazza|piazzale|corso|largo|vicolo|contrada|borgo|rotonda|"
    r"strada|stretto|rua|travessa|praça|praca|estrada|rodovia|núcleo|nucleo|vila|conjunto|"
    r"quadra|setor|residencial|loteamento|vereda|viela|trecho|ladeira|jardim|parque|"
    r"aleja|al\.|plac|os\.|osiedle|aleea|bulevardul|calea|splaiul|intrarea|piața|piata|"
    r"șoseaua|soseaua|strada)"
)

FORMATS: tuple[Format, ...] = (
    # ---- contact
    Format(
        "email",
        "email",
        r"(?i)[a-z0-9!#$%&'*+/=?^_`{|}~.-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.[a-z]{2,}",
        0.95,
    ),
    Format(
        "phone_intl",
        "phone",
        r"(?:\+|00)\d{1,3}[\s.\-/]*(?:\(0\)[\s.\-/]*)?(?:\(?\d{1,5}\)?[\s.\-/]*){1,5}\d" + _EXT,
        0.8,
    ),
    Format(
        "phone_grouped",
        "phone",
        r"(?:\(\d{2,5}\)\s*|\d{2,5}[\s.\-/])\d{2,5}(?:[\s.\-/]\d{2,5}){0,3}" + _EXT,
        0.6,
    ),
    Format("phone_trunk", "phone", r"0\d{8,11}" + _EXT, 0.4),
    Format("phone_bare", "phone", r"[1-9]\d{9,11}", 0.15),
    # ---- financial
    Format(
        "card_grouped",
        "credit_card",
        r"\d{4}(?:[ \-]\d{4}){2}[ \-]\d{1,7}|\d{4}[ \-]\d{6}[ \-]\d{4,5}",
        0.6,
    ),
    Format("card_bare", "credit_card", r"\d{12,19}", 0.2),
    Format("iban", "iban", r"(?i)[a-z]{2}\d{2}(?:\s?[a-z0-9]){11,30}", 0.7),
    Format("ssn_dashed", "us_ssn", r"\d{3}-\d{2}-\d{4}", 0.75),
    Format("ssn_spaced", "us_ssn", r"\d{3} \d{2} \d{4}", 0.6),
    Format("ssn_bare", "us_ssn", r"\d{9}", 0.15),
    Format("itin_dashed", "us_itin", r"9\d{2}[- ]?\d{2}[- ]?\d{4}", 0.3),
    Format("aba", "aba_routing", r"\d{9}", 0.15),
    # ---- national identifiers (the checksum decides which scheme)
    Format("nid_digits", "national_id", r"\d[\d .\-/]{4,20}\d", 0.15),
    Format("nid_alnum", "national_id", r"(?i)[a-z0-9][a-z0-9 .\-/+]{6,22}[a-z0-9]", 0.15),
    # ---- network
    Format("ipv4", "ip_address", rf"{_OCTET}(?:\.{_OCTET}){{3}}", 0.9),
    Format("ipv6", "ip_address", r"(?i)[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}(?:%\w+)?", 0.5),
    Format(
        "mac",
        "mac_address",
        r"(?i)[0-9a-f]{2}(?:[:\-][0-9a-f]{2}){5}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}",
        0.9,
    ),
    Format(
        "url",
        "url",
        r"(?i)(?:https?|ftp)://[^\s/$.?#][^\s]*|www\.[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[^\s]*)?",
        0.95,
    ),
    # ---- dates
    Format("date_iso", "date", r"\d{4}-\d{1,2}-\d{1,2}", 0.8),
    Format(
        "datetime_iso",
        "date",
        r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC)?",
        0.9,
    ),
    Format("date_dmy", "date", r"\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})", 0.55),
    Format("date_ymd_slash", "date", r"\d{4}[./]\d{1,2}[./]\d{1,2}", 0.8),
    Format(
        "date_text",
        "date",
        rf"(?i)\d{{1,2}}\.?\s+{_MONTHS}\.?\s+\d{{4}}|{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}",
        0.9,
    ),
    Format("date_compact", "date", r"(?:19|20)\d{6}", 0.2),
    # ---- places
    Format("zip_us", "postal_code", r"\d{5}", 0.15),
    Format("zip_us4", "postal_code", r"\d{5}-\d{4}", 0.7),
    Format("postcode_gb", "postal_code", r"(?i)[a-z]{1,2}\d[a-z\d]?\s*\d[abd-hjlnp-uw-z]{2}", 0.85),
    Format(
        "postcode_ca",
        "postal_code",
        r"(?i)[abceghj-nprstvxy]\d[abceghj-nprstv-z][ -]?\d[abceghj-nprstv-z]\d",
        0.85,
    ),
    Format("postcode_nl", "postal_code", r"(?i)[1-9]\d{3}\s?[a-z]{2}", 0.7),
    Format("postcode_4", "postal_code", r"[1-9]\d{3}", 0.1),
    Format("postcode_pl", "postal_code", r"\d{2}-\d{3}", 0.6),
    Format("postcode_pt_jp", "postal_code", r"\d{4}-\d{3}|\d{3}-\d{4}", 0.5),
    Format("postcode_br", "postal_code", r"\d{5}-\d{3}", 0.7),
    Format("postcode_se", "postal_code", r"\d{3} \d{2}", 0.5),
    Format("postcode_6", "postal_code", r"[1-9]\d{5}", 0.1),
    Format(
        "latlon",
        "coordinates",
        r"\(?\s*[-+]?\d{1,2}\.\d{3,}\s*[,;/ ]\s*[-+]?\d{1,3}\.\d{3,}\s*\)?",
        0.8,
    ),
    Format(
        "dms",
        "coordinates",
        r"(?i)\d{1,3}°\s*\d{1,2}['′]\s*(?:\d{1,2}(?:\.\d+)?[\x22″]\s*)?[nsew](?:[ ,]+\d{1,3}°\s*\d{1,2}['′]\s*(?:\d{1,2}(?:\.\d+)?[\x22″]\s*)?[nsew])?",
        0.9,
    ),
    Format(
        "street_en",
        "street_address",
        rf"(?i)(?:\d{{1,6}}[a-z]?(?:-\d{{1,5}})?\s+)(?:[\p{{L}}0-9'.-]+\s+){{0,4}}{_STREET_WORDS_EN}(?:\s+(?:apt|apt\.|suite|ste|unit|#|no\.?)\s*[\w-]+)?(?:[\s,].*)?",
        0.8,
    ),
    Format(
        "street_eu_suffix",
        "street_address",
        rf"(?i)[\p{{L}}' .-]*{_STREET_SUFFIX_EU}\s*,?\s*\d{{1,5}}\s*[a-z]?(?:[\s,/].*)?",
        0.8,
    ),
    Format(
        "street_eu_prefix",
        "street_address",
        rf"(?i)(?:\d{{1,5}}\s*(?:bis|ter|[a-z])?,?\s+)?{_STREET_PREFIX_EU}\s+[\p{{L}}0-9' .-]+(?:,?\s*(?:n[º°o.]?\s*)?\d{{1,5}})?(?:[\s,].*)?",
        0.65,
    ),
    # ---- organisations
    Format(
        "company_suffix",
        "company",
        r"(?i).+[\s,](?:inc|llc|l\.l\.c|ltd|plc|gmbh|ag|kg|ohg|e\.v|ev|gbr|ug|sa|s\.a|sas|sarl|srl|s\.r\.l|spa|s\.p\.a|bv|b\.v|nv|n\.v|ab|as|a/s|asa|oy|oyj|co|corp|corporation|company|group|holding|holdings|limited|lp|llp|pty|pte|kk|ltda|sl|s\.l|sce|scs|sp\. z o\.o|s\.c|sp\.j|s\.l\.u|slu|s\.a\.s|cie|et fils|e figli|e filhos|y asociados|& asociados|hb|kb|bt|kft|zrt|nyrt|sa de cv|& sons|and sons|& co|and co|partners|associates|industries|enterprises|solutions|technologies|systems)\.?",
        0.8,
    ),
    Format(
        "company_cjk",
        "company",
        r".*(?:株式会社|有限会社|合同会社|有限公司|股份有限公司|주식회사).*",
        0.9,
    ),
    Format(
        "company_names",
        "company",
        r"(?:[\p{Lu}][\p{L}'-]+)(?:(?:,\s+|-|\s+(?:and|&|und|et|y|e|og|och|en|i|és|es)\s+)[\p{Lu}][\p{L}'-]+){1,3}",
        0.3,
    ),
    # ---- secrets
    Format(
        "secret_known",
        "secret",
        r"(?:AKIA|ASIA)[0-9A-Z]{16}|(?:sk|pk|rk)_(?:live|test)_[0-9A-Za-z]{16,}|gh[pousr]_[0-9A-Za-z]{30,}|github_pat_\w{30,}|xox[abpors]-[0-9A-Za-z-]{10,}|AIza[0-9A-Za-z_\-]{35}|glpat-[0-9A-Za-z_\-]{20}|eyJ[0-9A-Za-z_\-]+\.eyJ[0-9A-Za-z_\-]+\.[0-9A-Za-z_\-]+|\$2[abxy]\$\d{2}\$[./0-9A-Za-z]{53}|\$argon2(?:id|i|d)\$.+|\$[56]\$.+\$.+|-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*",
        0.95,
    ),
    Format("secret_token", "secret", r"[A-Za-z0-9+/=_\-.~!@#$%^&*()]{8,128}", 0.1),
    Format("hex_hash", "secret", r"(?i)[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64}|[0-9a-f]{128}", 0.1),
)

FORMATS_BY_ID: dict[str, Format] = {f.id: f for f in FORMATS}

UUID = r"(?i)[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"


def formats_of(type_: str) -> list[Format]:
    return [f for f in FORMATS if f.type == type_]
