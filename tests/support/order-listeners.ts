/** The eventbridge listener the trigger tests start `on-order` runs with: orders of 100 or more from `shop`. */
export const BIG_ORDERS_LISTENER = {
  id: 'big-orders',
  type: 'eventbridge',
  workflow_id: 'on-order',
  match: {
    source: ['shop'],
    'detail-type': ['Order Placed'],
    detail: { total: [{ numeric: ['>=', 100] }] },
  },
} as const;
