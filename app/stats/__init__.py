"""Statistics: observations per indicator, unit and period, the submissions (revisions) that
delivered them, aggregation and disclosure control."""
