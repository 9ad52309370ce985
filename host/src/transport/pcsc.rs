//! PC/SC readers (pcsc-lite on Linux, WinSCard elsewhere).

use std::ffi::CString;
use std::time::{Duration, Instant};

use pcsc::{Card, Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};

use super::Transport;
use crate::error::{Error, Result};

/// A reader and whether it holds a card.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ReaderInfo {
    /// Index (for `--card N`).
    pub index: usize,
    /// Reader name.
    pub name: String,
    /// Whether a card is present.
    pub card: bool,
    /// The card's ATR, hex, when present.
    pub atr: Option<String>,
}

fn context() -> Result<Context> {
    Ok(Context::establish(Scope::User)?)
}

/// Every reader, with card presence and ATR.
pub fn readers() -> Result<Vec<ReaderInfo>> {
    let ctx = context()?;
    let names: Vec<CString> = match ctx.list_readers_owned() {
        Ok(n) => n,
        Err(pcsc::Error::NoReadersAvailable) => return Ok(vec![]),
        Err(e) => return Err(e.into()),
    };
    let mut states: Vec<ReaderState> = names
        .iter()
        .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
        .collect();
    if !states.is_empty() {
        ctx.get_status_change(Duration::from_millis(0), &mut states)?;
    }
    Ok(states
        .iter()
        .enumerate()
        .map(|(index, s)| {
            let card = s.event_state().contains(State::PRESENT);
            ReaderInfo {
                index,
                name: s.name().to_string_lossy().into_owned(),
                card,
                atr: card.then(|| hex::encode_upper(s.atr())),
            }
        })
        .collect())
}

/// Pick a reader: by index, exact name, or unique substring; with no query the
/// only reader holding a card.
pub fn choose(readers: &[ReaderInfo], query: Option<&str>) -> Result<ReaderInfo> {
    if readers.is_empty() {
        return Err(Error::NoReader);
    }
    let list = || {
        readers
            .iter()
            .map(|r| {
                format!(
                    "[{}] {}{}",
                    r.index,
                    r.name,
                    if r.card { " (card)" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let Some(q) = query else {
        let with_card: Vec<&ReaderInfo> = readers.iter().filter(|r| r.card).collect();
        return match with_card.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(Error::NoCard(list())),
            _ => Err(Error::Ambiguous(list())),
        };
    };
    if let Ok(i) = q.parse::<usize>()
        && let Some(r) = readers.get(i)
    {
        return Ok(r.clone());
    }
    if let Some(r) = readers.iter().find(|r| r.name == q) {
        return Ok(r.clone());
    }
    let matches: Vec<&ReaderInfo> = readers
        .iter()
        .filter(|r| r.name.to_lowercase().contains(&q.to_lowercase()))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::ReaderChoice {
            query: q.into(),
            problem: "matches no reader",
            readers: list(),
        }),
        _ => Err(Error::ReaderChoice {
            query: q.into(),
            problem: "matches several readers",
            readers: list(),
        }),
    }
}

/// A card in a PC/SC reader, held exclusively while open: every multi-APDU
/// operation of a `tamga` command runs without other applications interleaving.
pub struct PcscCard {
    card: Option<Card>,
    reader: String,
    /// The card went away: disconnect without touching it.
    gone: bool,
}

impl PcscCard {
    /// Connect to the card chosen by `query` (see [`choose`]), waiting up to
    /// `wait` for a card to be inserted.
    pub fn open(query: Option<&str>, wait: Duration) -> Result<Self> {
        let deadline = Instant::now() + wait;
        let reader = loop {
            let all = readers()?;
            match choose(&all, query) {
                Ok(r) if r.card => break r,
                Ok(_) | Err(Error::NoCard(_)) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Ok(r) => return Err(Error::NoCard(format!("reader {} is empty", r.name))),
                Err(e) => return Err(e),
            }
        };
        let ctx = context()?;
        let name = CString::new(reader.name.clone()).map_err(|e| Error::Pcsc(e.to_string()))?;
        let card = ctx.connect(&name, ShareMode::Exclusive, Protocols::ANY)?;
        Ok(PcscCard {
            card: Some(card),
            reader: reader.name,
            gone: false,
        })
    }

    /// The reader's name.
    pub fn reader(&self) -> &str {
        &self.reader
    }
}

impl Drop for PcscCard {
    /// A card we used is reset on the way out, so no verified PIN or
    /// management key outlives the session; a card that went away is left
    /// alone (resetting a vanished vpcd card wedges its slot).
    fn drop(&mut self) {
        if let Some(card) = self.card.take() {
            let how = if self.gone {
                Disposition::LeaveCard
            } else {
                Disposition::ResetCard
            };
            let _ = card.disconnect(how);
        }
    }
}

impl Transport for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>> {
        let card = self.card.as_mut().ok_or(Error::CardRemoved)?;
        let mut buf = vec![0u8; pcsc::MAX_BUFFER_SIZE_EXTENDED];
        match card.transmit(apdu, &mut buf) {
            // A dead vpcd link can come back as "success" without a status word.
            Ok(r) if r.len() < 2 => {
                self.gone = true;
                Err(Error::CardRemoved)
            }
            Ok(r) => Ok(r.to_vec()),
            Err(e) => {
                // Whatever failed (removed, reset, a dead link: pcsc-lite reports
                // a vanished vpcd card as "not transacted"), do not touch the card again.
                self.gone = true;
                Err(match e {
                    pcsc::Error::NotTransacted => Error::CardRemoved,
                    e => Error::from(e),
                })
            }
        }
    }

    fn reset(&mut self) -> Result<()> {
        let card = self.card.as_mut().ok_or(Error::CardRemoved)?;
        card.reconnect(ShareMode::Exclusive, Protocols::ANY, Disposition::ResetCard)?;
        Ok(())
    }

    fn describe(&self) -> String {
        format!("reader {}", self.reader)
    }
}
