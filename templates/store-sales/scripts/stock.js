// Order lines draw stock from the order's store. The stock record's on_hand
// is a formula over rollups (opening + received - sold), so saving the line
// is what decrements it, in the same transaction; this hook picks the stock
// record and refuses the line when on_hand would go below zero.
function beforeLineSave(record, ctx) {
  var order = db.get("sales_order", record.sales_order);
  if (!order) throw new Error("订单不存在 / The order does not exist");
  var sku = db.get("sku", record.sku);
  if (!sku) throw new Error("商品不存在 / The SKU does not exist");
  if (record.price == null) record.price = sku.price;
  // Ids are server-made lower-case ULIDs, so quoting them is safe.
  var found = db.find("stock", 'store = "' + order.store + '" && sku = "' + record.sku + '"', {limit: 1});
  if (found.length === 0)
    throw new Error("该门店没有 " + sku.code + " 的库存记录 / This store keeps no stock of " + sku.code);
  var st = found[0];
  record.stock = st.id;
  // On an update the line's old quantity is still counted in sold.
  var back = ctx.previous && ctx.previous.stock === st.id ? ctx.previous.qty || 0 : 0;
  var available = (st.on_hand || 0) + back;
  if (record.qty > available)
    throw new Error("库存不足：" + sku.name + " 现有 " + available + " 件，需要 " + record.qty +
      " 件 / Not enough stock of " + sku.code + ": " + available + " on hand, " + record.qty + " asked");
  // Automations read only the line's own fields, so the hook leaves what
  // the sale did to the stock on the line: low_stock_restock reads it.
  record.stock_after = available - record.qty;
  record.safety_at_sale = st.safety_stock || 0;
  record.fell_below_safety = record.stock_after < record.safety_at_sale;
}
