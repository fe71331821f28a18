-- Policy simulations: what a proposed policy would have decided over stored history, never a decision.
CREATE TABLE core.policy_simulations (
    simulation_id     uuid        PRIMARY KEY,
    requested_at      timestamptz NOT NULL DEFAULT now(),
    requested_by      text        NOT NULL,
    window_start      timestamptz NOT NULL,
    window_end        timestamptz NOT NULL,
    current_version   text        NOT NULL,
    proposed_version  text        NOT NULL,
    proposed_source   text        NOT NULL,
    refund_lines      integer     NOT NULL,
    report            jsonb       NOT NULL
);
GRANT SELECT, INSERT ON core.policy_simulations TO acorn_loader;

CREATE VIEW mart.policy_simulations AS
SELECT simulation_id, requested_at, requested_by, window_start, window_end, current_version, proposed_version,
       refund_lines, report
FROM core.policy_simulations;
COMMENT ON VIEW mart.policy_simulations IS 'Reports of proposed policies run over stored refunds (nothing decided).';
COMMENT ON COLUMN mart.policy_simulations.simulation_id IS 'Id of the simulation.';
COMMENT ON COLUMN mart.policy_simulations.requested_at IS 'When it ran.';
COMMENT ON COLUMN mart.policy_simulations.requested_by IS 'Who ran it (CLI user or DAG run).';
COMMENT ON COLUMN mart.policy_simulations.window_start IS 'Refunds posted from (UTC).';
COMMENT ON COLUMN mart.policy_simulations.window_end IS 'Refunds posted before (UTC).';
COMMENT ON COLUMN mart.policy_simulations.current_version IS 'Policy in force it was compared with.';
COMMENT ON COLUMN mart.policy_simulations.proposed_version IS 'Proposed policy version.';
COMMENT ON COLUMN mart.policy_simulations.refund_lines IS 'Refund lines re-decided.';
COMMENT ON COLUMN mart.policy_simulations.report IS 'Outcomes, transitions, review load and money, current vs proposed.';
GRANT SELECT ON mart.policy_simulations TO acorn_analyst;
