//! Sans-IO SIP core: transactions, dialogs and subscriptions driven by bytes and a clock passed in.
//! Nothing here touches a socket or reads the time itself.

pub mod dialog;
pub mod subscription;
pub mod timers;
pub mod transaction;

pub use dialog::Dialog;
pub use subscription::SubscriptionTracker;
pub use timers::Timers;
pub use transaction::{ClientEvent, ClientTransaction, ServerEvent, ServerTransactions};
