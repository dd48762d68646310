//! Dates: hardware refresh, warranty, contract end, OS end of life.
