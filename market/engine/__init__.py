"""The market's matching rules in pure Python (no Django): price-time priority, partial fills, self-trade
prevention and the price band. The services (to come) lock an instrument, hand the engine the incoming order and
the resting orders that could meet it, best first, and book what it returns through the ledger."""
