//! The guides for staff, clients and administrators (docs/guides/{uz,ru}/) checked against the
//! texts people actually see, so a renamed button or a changed permission fails here rather than
//! confusing someone reading the guide.
//!
//! - Every role of `Role::ALL` has a guide in both languages: `docs/guides/<lang>/<role>.md`, the
//!   role's name with `-` for `_` (`call-centre-operator.md`, `client.md`, `administrator.md`).
//! - **Quoted texts.** Everything a guide writes between « and » (the outermost pair; a message
//!   that itself contains «…» is quoted whole) must be the text of a message of that language's
//!   locale files (`locales/<lang>/*.ftl`, every key of `i18n::defined_keys`), as the bot or the
//!   console renders it, either the whole message or one whole line of it. Whitespace runs count
//!   as one space, so a quote may wrap in the Markdown source. Where the message has an argument
//!   (`{ $name }`), the quote may put an example in its place: a numeric argument (a number, a
//!   count, a page, a rating…) stands for digits, `N` or `…`; any other argument for any
//!   non-empty text. A message whose fixed text has no letter at all besides text arguments
//!   (`🏠 { $address }`) cannot be quoted: anything would match it. Selectors (`{ $kind -> … }`)
//!   are rendered with each of their variants. So a misspelt or invented label, or a label of the
//!   other language, fails.
//! - **Menus and actions.** Each role's guide quotes every button of that role's main menu (as the
//!   bot draws it, from `ariza_bot::screens::menu`) and the button of every workflow action the
//!   role may take (`ROLE_PERMISSIONS`; a client's rating is a row of stars, not a labelled
//!   button, so it is left out).
//! - **The role table.** Each administrator guide has a table with one row per role:
//!   `| name | `code` | kinds it creates | actions it takes |`; the backticked codes in the last two
//!   cells must be exactly what `ROLE_PERMISSIONS` gives the role, and the name must be the
//!   role's name in that language (`role-<code>` in main.ftl).

use crate::support::{read_repo_file, repo_file};
use ariza_bot::people::{ClientAccount, Kind, Person};
use ariza_shared::domain::{Locale, Role};
use ariza_shared::errors::MessageArgs;
use ariza_shared::i18n;
use ariza_shared::permissions::ROLE_PERMISSIONS;
use ariza_shared::workflow::TransitionName;
use std::collections::{BTreeMap, BTreeSet};

const LANGUAGES: [Locale; 2] = [Locale::Uz, Locale::Ru];
const LOCALE_FILES: [&str; 3] = ["main.ftl", "bot.ftl", "console.ftl"];

/// Arguments that hold a number: in a quote they stand for digits, `N` or `…`.
const NUMERIC_ARGS: &[&str] =
    &["number", "count", "page", "pages", "rating", "n", "score", "open", "max", "minutes", "alert_id", "skipped", "total", "ms"];

/// Plural selectors are rendered with these (Russian one, few, many); in the text they are an
/// argument like any number.
const PLURAL_PROBES: [i64; 3] = [900_001, 900_002, 900_005];

/// Marks an argument's place in a rendered message (private-use characters no message contains).
const NUM: &str = "\u{E000}";
const TEXT: &str = "\u{E001}";

fn guide_path(l: Locale, name: &str) -> String {
    format!("docs/guides/{}/{name}.md", l.as_str())
}

fn role_file_name(role: Role) -> String {
    role.as_str().replace('_', "-")
}

/// One message's arguments: which are selectors, and the variant names its selectors choose from.
#[derive(Debug, Default)]
struct MessageShape {
    args: BTreeSet<String>,
    selectors: BTreeSet<String>,
    variants: BTreeSet<String>,
}

/// The shape of every message of a language, read from its Fluent sources.
fn shapes(l: Locale) -> BTreeMap<String, MessageShape> {
    let mut out: BTreeMap<String, MessageShape> = BTreeMap::new();
    for file in LOCALE_FILES {
        let source = read_repo_file(&format!("locales/{}/{file}", l.as_str()));
        let mut current: Option<String> = None;
        for line in source.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            // A message starts with `key =` at the start of a line; its other lines are indented
            // (or close a selector with `}`).
            let starts = line.starts_with(|c: char| c.is_ascii_lowercase()) && line.contains('=');
            if starts {
                current = line.split_once('=').map(|(id, _)| id.trim().to_owned());
            }
            let Some(key) = current.clone() else { continue };
            let shape = out.entry(key).or_default();
            let body = if starts { line.split_once('=').map_or("", |(_, b)| b) } else { line };
            let mut rest = body;
            while let Some(i) = rest.find('$') {
                let name: String = rest[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                let after = rest[i + 1 + name.len()..].trim_start();
                if after.starts_with("->") {
                    shape.selectors.insert(name.clone());
                }
                shape.args.insert(name);
                rest = &rest[i + 1..];
            }
            let trimmed = body.trim_start().trim_start_matches('*');
            if let Some(variant) = trimmed.strip_prefix('[').and_then(|v| v.split_once(']')).map(|(v, _)| v) {
                shape.variants.insert(variant.to_owned());
            }
        }
    }
    out
}

/// Every combination of selector values of a message, each as the arguments to render it with.
fn argument_sets(shape: &MessageShape) -> Vec<MessageArgs> {
    let mut base = MessageArgs::new();
    for arg in shape.args.iter().filter(|a| !shape.selectors.contains(*a)) {
        let mark = if NUMERIC_ARGS.contains(&arg.as_str()) { NUM } else { TEXT };
        base.insert(arg.clone(), serde_json::json!(mark));
    }
    let mut values: Vec<serde_json::Value> = shape.variants.iter().map(|v| serde_json::json!(v)).collect();
    if shape.variants.iter().any(|v| ["one", "few", "many", "other"].contains(&v.as_str())) {
        values.extend(PLURAL_PROBES.iter().map(|n| serde_json::json!(n)));
    }
    let mut sets = vec![base];
    for selector in &shape.selectors {
        sets = sets
            .into_iter()
            .flat_map(|set| {
                values.iter().map(move |v| {
                    let mut set = set.clone();
                    set.insert(selector.clone(), v.clone());
                    set
                })
            })
            .collect();
    }
    sets
}

fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A rendered message (or one line of it) as a pattern: fixed text and argument places.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(Vec<char>),
    Num,
    Text,
}

fn pattern(rendered: &str) -> Vec<Token> {
    let mut text = squash(rendered);
    for probe in PLURAL_PROBES {
        text = text.replace(&probe.to_string(), NUM);
    }
    let mut tokens = Vec::new();
    let mut literal = Vec::new();
    for c in text.chars() {
        let place = match c.to_string().as_str() {
            NUM => Some(Token::Num),
            TEXT => Some(Token::Text),
            _ => None,
        };
        match place {
            Some(token) => {
                if !literal.is_empty() {
                    tokens.push(Token::Literal(std::mem::take(&mut literal)));
                }
                tokens.push(token);
            }
            None => literal.push(c),
        }
    }
    if !literal.is_empty() {
        tokens.push(Token::Literal(literal));
    }
    tokens
}

/// Whether a pattern may be matched at all: one with a free-text place needs a letter of its own.
fn quotable(tokens: &[Token]) -> bool {
    !tokens.contains(&Token::Text)
        || tokens.iter().any(|t| matches!(t, Token::Literal(chars) if chars.iter().any(|c| c.is_alphabetic())))
}

/// Whether `quote` is the pattern with an example in each argument's place.
fn matches(tokens: &[Token], quote: &[char]) -> bool {
    // reachable[p]: the tokens so far can end at quote[..p].
    let n = quote.len();
    let mut reachable = vec![false; n + 1];
    reachable[0] = true;
    for token in tokens {
        let mut next = vec![false; n + 1];
        for p in (0..=n).filter(|p| reachable[*p]) {
            match token {
                Token::Literal(chars) => {
                    if quote[p..].starts_with(chars) {
                        next[p + chars.len()] = true;
                    }
                }
                Token::Text => next.iter_mut().skip(p + 1).for_each(|r| *r = true),
                Token::Num => {
                    if matches!(quote.get(p), Some('…' | 'N')) {
                        next[p + 1] = true;
                    }
                    let digits = quote[p..].iter().take_while(|c| c.is_ascii_digit()).count();
                    (1..=digits).for_each(|d| next[p + d] = true);
                }
            }
        }
        reachable = next;
    }
    reachable[n]
}

/// Every message of a language, whole and line by line, as patterns with the key they come from.
fn catalogue(l: Locale) -> Vec<(String, Vec<Token>)> {
    let shapes = shapes(l);
    let mut out = Vec::new();
    for key in i18n::defined_keys(l) {
        let shape = shapes.get(&key).unwrap_or_else(|| panic!("{key}: defined but not found in the sources"));
        for args in argument_sets(shape) {
            let rendered = i18n::try_text(l, &key, &args).unwrap_or_else(|| panic!("{key} does not render in {l}"));
            let mut candidates = vec![rendered.clone()];
            if rendered.contains('\n') {
                candidates.extend(rendered.lines().map(str::to_owned));
            }
            for candidate in candidates {
                let tokens = pattern(&candidate);
                if !tokens.is_empty() && quotable(&tokens) {
                    out.push((key.clone(), tokens));
                }
            }
        }
    }
    out
}

/// The outermost «…» quotes of a guide, whitespace squashed, with their line numbers.
fn quotes(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let (mut depth, mut start_line, mut line) = (0usize, 0usize, 1usize);
    let mut current = String::new();
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        match c {
            '«' => {
                if depth == 0 {
                    current.clear();
                    start_line = line;
                } else {
                    current.push(c);
                }
                depth += 1;
            }
            '»' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push((start_line, squash(&current)));
                } else {
                    current.push(c);
                }
            }
            _ if depth > 0 => current.push(c),
            _ => {}
        }
    }
    assert_eq!(depth, 0, "an unclosed « at line {start_line}");
    out
}

fn guide_files() -> Vec<(Locale, String)> {
    let mut out = Vec::new();
    for l in LANGUAGES {
        let dir = repo_file(&format!("docs/guides/{}", l.as_str()));
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "md") {
                let name = path.file_name().and_then(|n| n.to_str()).expect("a file name").to_owned();
                out.push((l, format!("docs/guides/{}/{name}", l.as_str())));
            }
        }
    }
    out.sort();
    out
}

/// The quotes of `text` that are no message of language `l`.
fn unknown_quotes(l: Locale, catalogue: &[(String, Vec<Token>)], text: &str) -> Vec<(usize, String)> {
    quotes(text)
        .into_iter()
        .filter(|(_, quote)| {
            let chars: Vec<char> = quote.chars().collect();
            !catalogue.iter().any(|(_, tokens)| matches(tokens, &chars))
        })
        .map(|(line, quote)| (line, format!("«{quote}» ({l})")))
        .collect()
}

#[test]
fn guides_every_role_has_a_guide_in_both_languages() {
    for l in LANGUAGES {
        for role in Role::ALL {
            let path = guide_path(l, &role_file_name(*role));
            assert!(repo_file(&path).is_file(), "{path} is missing: every role has a guide in Uzbek and Russian");
        }
        assert!(repo_file("docs/guides/README.md").is_file(), "docs/guides/README.md, the index, is missing");
    }
}

#[test]
fn guides_quote_only_texts_the_bot_and_the_console_really_show() {
    let catalogues: BTreeMap<&str, Vec<(String, Vec<Token>)>> = LANGUAGES.iter().map(|l| (l.as_str(), catalogue(*l))).collect();
    let mut wrong = Vec::new();
    let mut quoted = 0;
    for (l, path) in guide_files() {
        let text = read_repo_file(&path);
        quoted += quotes(&text).len();
        for (line, quote) in unknown_quotes(l, &catalogues[l.as_str()], &text) {
            wrong.push(format!("{path}:{line}: {quote}"));
        }
    }
    assert!(quoted > 100, "the guides quote the bot's texts ({quoted} quotes found)");
    assert!(wrong.is_empty(), "quoted in a guide but no text of the locale files:\n{}", wrong.join("\n"));
}

#[test]
fn guides_the_quote_check_catches_a_wrong_label() {
    let l = Locale::Uz;
    let catalogue = catalogue(l);
    let right = format!("«{}» then «{}»", i18n::plain(l, "bot-act-assign"), i18n::plain(l, "wf-btn-open"));
    assert!(unknown_quotes(l, &catalogue, &right).is_empty(), "{right}");
    // A label with an example in its argument's place, and a whole line of a longer message.
    assert!(unknown_quotes(l, &catalogue, "«⭐ 5» «Holati: bajarilmoqda» «Topildi: 3. Mijozni tanlang (sahifa 1/1):»").is_empty());
    for wrong in ["«👷 Texnikka biriktirsh»", "«⭐ Baholash!»", "«⭐ besh»", "«Назначить техника»", "«Holati:»"] {
        assert_eq!(unknown_quotes(l, &catalogue, wrong).len(), 1, "{wrong} should be refused");
    }
}

/// A person of `role` as the bot sees them (a client with a linked record).
fn person(role: Role, l: Locale) -> Person {
    let kind = if role == Role::Client {
        Kind::Client(ClientAccount {
            id: 1,
            full_name: "Guide".into(),
            phone: "+998901234567".into(),
            address: "Toshkent".into(),
            language: l.as_str().into(),
        })
    } else {
        Kind::Staff { id: 1 }
    };
    Person { telegram_id: 1, role, language: l, full_name: "Guide".into(), kind }
}

#[test]
fn guides_show_each_role_its_whole_menu_and_every_action_it_may_take() {
    let mut missing = Vec::new();
    for l in LANGUAGES {
        for permissions in ROLE_PERMISSIONS {
            let role = permissions.role;
            let path = guide_path(l, &role_file_name(role));
            let quoted: BTreeSet<String> = quotes(&read_repo_file(&path)).into_iter().map(|(_, q)| q).collect();
            let mut labels = ariza_bot::screens::menu(&person(role, l)).menu.unwrap_or_default();
            labels.extend(
                permissions.transitions.iter().filter(|t| **t != TransitionName::Rate).map(|t| ariza_bot::texts::action(l, *t)),
            );
            for label in labels {
                if !quoted.contains(&squash(&label)) {
                    missing.push(format!("{path}: «{label}»"));
                }
            }
        }
    }
    assert!(missing.is_empty(), "a role's guide does not show a button the role has:\n{}", missing.join("\n"));
}

/// The backticked words of a table cell.
fn codes(cell: &str) -> BTreeSet<String> {
    cell.split('`').skip(1).step_by(2).map(str::to_owned).collect()
}

#[test]
fn guides_the_administrators_role_table_is_role_permissions() {
    for l in LANGUAGES {
        let path = guide_path(l, "administrator");
        let text = read_repo_file(&path);
        let rows: Vec<Vec<&str>> = text
            .lines()
            .map(|line| line.split('|').map(str::trim).collect::<Vec<_>>())
            // "| a | `b` | c | d |" splits into ["", a, `b`, c, d, ""].
            .filter(|cells| cells.len() == 6 && Role::ALL.iter().any(|r| cells[2] == format!("`{}`", r.as_str())))
            .collect();
        for permissions in ROLE_PERMISSIONS {
            let code = format!("`{}`", permissions.role.as_str());
            let found: Vec<&Vec<&str>> = rows.iter().filter(|cells| cells[2] == code).collect();
            assert_eq!(found.len(), 1, "{path}: the role table has {} rows for {code}", found.len());
            let cells = found[0];
            let name = i18n::plain(l, &format!("role-{}", permissions.role.as_str().replace('_', "-")));
            assert!(cells[1].to_lowercase().contains(&name.to_lowercase()), "{path}: {code} is called «{name}» in the bot");
            let create: BTreeSet<String> = permissions.create.iter().map(|k| k.as_str().to_owned()).collect();
            assert_eq!(codes(cells[3]), create, "{path}: what {code} creates, as in ROLE_PERMISSIONS");
            let transitions: BTreeSet<String> = permissions.transitions.iter().map(|t| t.as_str().to_owned()).collect();
            assert_eq!(codes(cells[4]), transitions, "{path}: the actions of {code}, as in ROLE_PERMISSIONS");
        }
        assert_eq!(rows.len(), ROLE_PERMISSIONS.len(), "{path}: one row per role, no more");
    }
}
