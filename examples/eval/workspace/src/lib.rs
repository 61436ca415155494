//! A tiny double-entry ledger: amounts in cents, accounts by name.
use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LedgerError {
    #[error("cannot parse amount {0:?}")]
    BadAmount(String),
    #[error("unbalanced entry: debits {debits} != credits {credits}")]
    Unbalanced { debits: i64, credits: i64 },
}

/// Parses "12.34" or "12" into cents.
pub fn parse_amount(text: &str) -> Result<i64, LedgerError> {
    let bad = || LedgerError::BadAmount(text.to_string());
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), "0"));
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac = format!("{:0<2}", frac);
    if frac.len() != 2 {
        return Err(bad());
    }
    let cents: i64 = frac.parse().map_err(|_| bad())?;
    Ok(whole * 100 + cents)
}

#[derive(Default)]
pub struct Ledger {
    balances: HashMap<String, i64>,
}

impl Ledger {
    pub fn post(&mut self, debits: &[(&str, i64)], credits: &[(&str, i64)]) -> Result<(), LedgerError> {
        let d: i64 = debits.iter().map(|(_, a)| a).sum();
        let c: i64 = credits.iter().map(|(_, a)| a).sum();
        if d != c {
            return Err(LedgerError::Unbalanced { debits: d, credits: c });
        }
        for (acct, amount) in debits {
            *self.balances.entry(acct.to_string()).or_default() += amount;
        }
        for (acct, amount) in credits {
            *self.balances.entry(acct.to_string()).or_default() -= amount;
        }
        Ok(())
    }

    pub fn balance(&self, account: &str) -> i64 {
        self.balances.get(account).copied().unwrap_or(0)
    }

    /// True when every invoice total matches the receivable posted for it.
    pub fn reconcile(&self, invoices: &[(String, i64)]) -> bool {
        invoices.iter().all(|(id, total)| self.balance(&format!("receivable:{id}")) == *total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts() {
        assert_eq!(parse_amount("12.5"), Ok(1250));
        assert_eq!(parse_amount("3"), Ok(300));
        assert!(parse_amount("1.234").is_err());
    }
}
