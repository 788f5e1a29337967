-- Allegations with what their complaint says of them: its received date, district and complainant (the same
-- import batch holds the complaint and its allegations), and the finding as true/false (`sustained`: empty
-- while pending or when the source gives no finding). A left join: an allegation whose complaint cannot be
-- found is kept, without a date, never dropped.
SELECT
    a.*,
    c.received_date,
    c.district,
    c.complainant_race,
    c.complainant_sex,
    CASE WHEN a.finding IS NULL OR a.finding = 'pending' THEN NULL ELSE a.finding = 'sustained' END AS sustained
FROM allegations a
LEFT JOIN complaints c
    ON c.batch_id = a.batch_id AND c.jurisdiction_id = a.jurisdiction_id AND c.complaint_id = a.complaint_id
