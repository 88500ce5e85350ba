// The demo panel's words for ordering a new server from a snapshot and for the servers that order makes,
// in the panel's three languages (chrome-text.ts has the rest of the chrome). The module's own
// refusals come worded from the module (describeError).
import type { Lang } from './chrome-text.js';

const en = {
  orderTitle: 'New server from a snapshot',
  orderIntro: 'The new server\'s disk will hold exactly what the snapshot held. Choose its plan and name, then confirm the order.',
  factSnapshot: 'Snapshot', factTaken: 'Taken', factSource: 'From server', factMinDisk: 'Disk needed',
  validUntil: 'You can confirm this order until {time}.',
  planLegend: 'Plan', planDisk: '{disk} disk', planTooSmall: 'Not available: the snapshot needs a disk of at least {disk}.',
  nameLabel: 'Name of the new server', nameHint: 'Up to 64 characters.',
  noCharge: 'This is a demo: nothing is charged.', confirm: 'Confirm order', cancel: 'Cancel',
  orderDone: 'This order is confirmed: {name} is in your services.', goToServices: 'Go to your services',
  orderGoneTitle: 'Order not found', orderGone: 'This order does not exist or has expired. Start again from the snapshot.',
  planMissing: 'Choose a plan for the new server.',
  planTooSmallError: '{plan} has a {offered} disk, but the snapshot needs at least {needed}. Choose a larger plan.',
  nameMissing: 'Enter a name for the new server.',
  nameInvalid: 'The name can have at most 64 characters and no control characters.',
  noPlanFits: 'No plan has a disk of {disk} or more, so no server can be made from this snapshot.',
  onlySimulated: 'The demo makes new servers only on its simulated hypervisor; this server is on a real one.',
  refusal_database_busy: 'This cannot be done right now. Please try again in a moment.',
  made_queued: 'Waiting', made_running: 'Being made', made_succeeded: 'Ready', made_failed: 'Failed',
  fromPending: 'Being made from snapshot “{name}” of {source}',
  fromDone: 'Disk from snapshot “{name}” of {source}',
  fromFailed: 'Could not be made from snapshot “{name}” of {source}; nothing was left half-made.',
  orderedFlash: '{name} is ordered. Its disk is being made from the snapshot.',
};

export type OrderText = typeof en;

const ko: OrderText = {
  orderTitle: '스냅샷으로 새 서버 만들기',
  orderIntro: '새 서버의 디스크에는 스냅샷의 내용이 그대로 담깁니다. 요금제와 이름을 고른 뒤 주문을 확정하세요.',
  factSnapshot: '스냅샷', factTaken: '생성 시각', factSource: '원본 서버', factMinDisk: '필요한 디스크',
  validUntil: '{time}까지 이 주문을 확정할 수 있습니다.',
  planLegend: '요금제', planDisk: '디스크 {disk}', planTooSmall: '선택할 수 없음: 이 스냅샷에는 {disk} 이상의 디스크가 필요합니다.',
  nameLabel: '새 서버 이름', nameHint: '최대 64자까지 입력할 수 있습니다.',
  noCharge: '데모이므로 요금이 청구되지 않습니다.', confirm: '주문 확정', cancel: '취소',
  orderDone: '이 주문은 확정되었습니다. {name} 서버는 내 서비스에 있습니다.', goToServices: '내 서비스로 이동',
  orderGoneTitle: '주문을 찾을 수 없습니다', orderGone: '존재하지 않거나 만료된 주문입니다. 스냅샷에서 다시 시작해 주세요.',
  planMissing: '새 서버의 요금제를 선택하세요.',
  planTooSmallError: '{plan}의 디스크는 {offered}이지만 이 스냅샷에는 {needed} 이상이 필요합니다. 더 큰 요금제를 선택하세요.',
  nameMissing: '새 서버의 이름을 입력하세요.',
  nameInvalid: '이름은 64자 이하여야 하며 제어 문자를 포함할 수 없습니다.',
  noPlanFits: '디스크가 {disk} 이상인 요금제가 없어 이 스냅샷으로 서버를 만들 수 없습니다.',
  onlySimulated: '데모는 시뮬레이션 하이퍼바이저에서만 새 서버를 만듭니다. 이 서버는 실제 하이퍼바이저에 있습니다.',
  refusal_database_busy: '지금은 처리할 수 없습니다. 잠시 후 다시 시도해 주세요.',
  made_queued: '대기 중', made_running: '만드는 중', made_succeeded: '준비됨', made_failed: '실패',
  fromPending: '{source} 서버의 스냅샷 “{name}”에서 만드는 중',
  fromDone: '{source} 서버의 스냅샷 “{name}”에서 만든 디스크',
  fromFailed: '{source} 서버의 스냅샷 “{name}”에서 만들지 못했습니다. 만들다 만 것은 남지 않았습니다.',
  orderedFlash: '{name} 서버를 주문했습니다. 스냅샷에서 디스크를 만드는 중입니다.',
};

const ja: OrderText = {
  orderTitle: 'スナップショットから新しいサーバーを作成',
  orderIntro: '新しいサーバーのディスクには、スナップショットの内容がそのまま入ります。プランと名前を選んで、注文を確定してください。',
  factSnapshot: 'スナップショット', factTaken: '取得日時', factSource: '元のサーバー', factMinDisk: '必要なディスク',
  validUntil: 'この注文は {time} まで確定できます。',
  planLegend: 'プラン', planDisk: 'ディスク {disk}', planTooSmall: '選択できません: このスナップショットには {disk} 以上のディスクが必要です。',
  nameLabel: '新しいサーバーの名前', nameHint: '64 文字まで入力できます。',
  noCharge: 'デモのため、料金は発生しません。', confirm: '注文を確定', cancel: 'キャンセル',
  orderDone: 'この注文は確定済みです。{name} はサービス一覧にあります。', goToServices: 'サービス一覧へ',
  orderGoneTitle: '注文が見つかりません', orderGone: 'この注文は存在しないか、有効期限が切れています。スナップショットからやり直してください。',
  planMissing: '新しいサーバーのプランを選んでください。',
  planTooSmallError: '{plan} のディスクは {offered} ですが、このスナップショットには {needed} 以上が必要です。より大きいプランを選んでください。',
  nameMissing: '新しいサーバーの名前を入力してください。',
  nameInvalid: '名前は 64 文字以内で、制御文字を含めることはできません。',
  noPlanFits: 'ディスクが {disk} 以上のプランがないため、このスナップショットからサーバーを作成できません。',
  onlySimulated: 'デモで新しいサーバーを作成できるのは、シミュレーションのハイパーバイザー上だけです。このサーバーは実際のハイパーバイザー上にあります。',
  refusal_database_busy: '現在処理できません。しばらくしてからもう一度お試しください。',
  made_queued: '待機中', made_running: '作成中', made_succeeded: '準備完了', made_failed: '失敗',
  fromPending: '{source} のスナップショット「{name}」から作成中',
  fromDone: '{source} のスナップショット「{name}」から作成したディスク',
  fromFailed: '{source} のスナップショット「{name}」から作成できませんでした。作りかけのものは残っていません。',
  orderedFlash: '「{name}」を注文しました。スナップショットからディスクを作成しています。',
};

const TEXT: Record<Lang, OrderText> = { en, ko, ja };

export function orderText(lang: Lang): OrderText {
  return TEXT[lang];
}
