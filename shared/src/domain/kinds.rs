//! Closed sets: application kinds, roles, creation sources and interface languages.


/// A value that is not one of a closed set; the message names the set and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// A closed set of names: an enum with its stable string form, `Display` (padded), `FromStr` and
/// serde in snake_case. Used for kinds, roles, sources, languages, states and transitions.
macro_rules! closed_set {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name used in the database, in messages and on the command line.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($text => Ok($name::$variant),)+
                    other => Err($crate::domain::UnknownValue { what: $what, value: other.to_owned() }),
                }
            }
        }
    };
}
pub(crate) use closed_set;

closed_set!(
    /// The two kinds of application an internet provider's client can have.
    ApplicationKind, "application kind" {
        Connection => "connection",
        Technical => "technical",
    }
);

closed_set!(
    /// Who someone is to ariza. Staff roles live in the `staff` table; `Client` is a client acting
    /// for themselves through the bot.
    Role, "role" {
        Manager => "manager",
        JuniorManager => "junior_manager",
        Controller => "controller",
        CallCentreOperator => "call_centre_operator",
        Technician => "technician",
        Administrator => "administrator",
        Client => "client",
    }
);

closed_set!(
    /// Whether staff created the application for a client, or the client created it.
    CreationSource, "creation source" {
        Staff => "staff",
        Client => "client",
    }
);

closed_set!(
    /// The languages ariza speaks; Uzbek is the default.
    Locale, "language" {
        Uz => "uz",
        Ru => "ru",
    }
);

#[allow(clippy::derivable_impls)] // the enum comes from a macro, where #[default] cannot be placed
impl Default for Locale {
    /// Uzbek, the language of most clients.
    fn default() -> Self {
        Locale::Uz
    }
}

impl Role {
    /// Staff roles, the ones that may be stored in the `staff` table.
    pub fn is_staff(self) -> bool {
        self != Role::Client
    }
}

