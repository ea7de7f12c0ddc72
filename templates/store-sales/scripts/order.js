// A new order defaults to today and to the salesperson who rings it up, so
// staff performance counts it without extra typing.
function beforeSave(record, ctx) {
  if (ctx.isNew && !record.order_date) record.order_date = today();
  if (ctx.isNew && !record.rep && !ctx.user.admin) record.rep = ctx.user.id;
}
