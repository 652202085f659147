"""诉求闭环: enterprise appeals handled on working-day deadlines, escalated, rated and measured."""
