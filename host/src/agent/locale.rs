//! The dialog's language: Russian (the default), Kazakh, English, as pages
//! choose with `changeLocale` or `locale` ("ru", "kk" or "kz", "en").

/// A dialog language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Locale {
    /// Русский.
    #[default]
    Ru,
    /// Қазақша.
    Kk,
    /// English.
    En,
}

/// The dialog's texts in one language.
pub struct Texts {
    /// The window title.
    pub title: &'static str,
    locale: Locale,
}

impl Locale {
    /// A page's locale name; anything unknown is Russian, as in NCALayer.
    pub fn parse(name: &str) -> Locale {
        match name.to_ascii_lowercase().as_str() {
            "kk" | "kz" => Locale::Kk,
            "en" => Locale::En,
            _ => Locale::Ru,
        }
    }

    /// Its texts.
    pub fn texts(self) -> Texts {
        let title = match self {
            Locale::Ru => "Tamga: подпись",
            Locale::Kk => "Tamga: қолтаңба",
            Locale::En => "Tamga: signature",
        };
        Texts {
            title,
            locale: self,
        }
    }
}

impl Texts {
    /// What the dialog says: who asks, whose certificate, how many documents.
    pub fn describe(
        &self,
        origin: Option<&str>,
        holder: &str,
        count: usize,
        format: &str,
    ) -> String {
        let origin = origin.unwrap_or(match self.locale {
            Locale::Ru => "программа на этом компьютере",
            Locale::Kk => "осы компьютердегі бағдарлама",
            Locale::En => "a program on this computer",
        });
        match self.locale {
            Locale::Ru => format!(
                "{origin} просит подписать документы: {count} ({format}).\n\
                 Сертификат: {holder}.\nВведите PIN-код карты."
            ),
            Locale::Kk => format!(
                "{origin} құжаттарға қол қоюды сұрайды: {count} ({format}).\n\
                 Сертификат: {holder}.\nКартаның PIN-кодын енгізіңіз."
            ),
            Locale::En => format!(
                "{origin} asks you to sign {count} document(s) ({format}).\n\
                 Certificate: {holder}.\nEnter the card's PIN."
            ),
        }
    }

    /// Asking whether `origin` may read the certificate of `holder`.
    pub fn share(&self, origin: Option<&str>, holder: &str) -> String {
        let origin = origin.unwrap_or(match self.locale {
            Locale::Ru => "программа на этом компьютере",
            Locale::Kk => "осы компьютердегі бағдарлама",
            Locale::En => "a program on this computer",
        });
        match self.locale {
            Locale::Ru => format!(
                "{origin} просит показать ваш сертификат: {holder}.\nПоказать его этому сайту?"
            ),
            Locale::Kk => format!(
                "{origin} сертификатыңызды көрсетуді сұрайды: {holder}.\nОсы сайтқа көрсету керек пе?"
            ),
            Locale::En => {
                format!("{origin} asks to see your certificate: {holder}.\nShow it to this site?")
            }
        }
    }

    /// The buttons of [`Texts::share`]: allow, refuse.
    pub fn share_buttons(&self) -> (&'static str, &'static str) {
        match self.locale {
            Locale::Ru => ("Показать", "Отказать"),
            Locale::Kk => ("Көрсету", "Бас тарту"),
            Locale::En => ("Show", "Refuse"),
        }
    }

    /// A wrong PIN with `tries` left.
    pub fn wrong_pin(&self, tries: u8) -> String {
        match self.locale {
            Locale::Ru => format!("Неверный PIN-код. Осталось попыток: {tries}"),
            Locale::Kk => format!("PIN-код қате. Қалған әрекет саны: {tries}"),
            Locale::En => format!("Wrong PIN: {tries} tries left"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(Locale::parse("kz"), Locale::Kk);
        assert_eq!(Locale::parse("KK"), Locale::Kk);
        assert_eq!(Locale::parse("en"), Locale::En);
        assert_eq!(Locale::parse("xx"), Locale::Ru);
        let t = Locale::En.texts();
        assert!(
            t.describe(Some("https://egov.kz"), "A B", 2, "CMS")
                .contains("https://egov.kz")
        );
        assert!(t.wrong_pin(2).contains('2'));
    }
}
